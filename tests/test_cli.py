"""The diffuseradio command line."""

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.wcs import WCS
from regions import Regions
from test_registry import tiny_card, tiny_network

from diffuseradio import DiffuseDetector, SurveyMosaic
from diffuseradio.cli import main
from diffuseradio.examples import example_field_path
from diffuseradio.models import UNet, save_model
from diffuseradio.training import TrainingConfig, export_model

P218 = ("lotss_dr1_P218+55_field", "LoTSS_DR1_P218+55_cutout_200px.fits")
MWA = ("mwa_phase2_clusters_clipped", "abell0122field1118mhzr0.0_Halo.fits")


@pytest.fixture(scope="module")
def model_card(tmp_path_factory):
    config = TrainingConfig.from_dict(
        {
            "model": {"name": "cli-test", "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16},
            "training": {"threshold": 0.3},
        }
    )
    torch.manual_seed(0)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    return str(export_model(network, config, tmp_path_factory.mktemp("model")))


def run(*args):
    return main([str(a) for a in args])


def test_detect_writes_all_outputs_on_the_input_grid(real_data_path, tmp_path, model_card):
    image = real_data_path(*P218)
    status = run("detect", image, "-o", tmp_path, "--model", model_card, "--no-progress")
    assert status == 0
    stem = image.name.removesuffix(".fits")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"{stem}.{s}"
        for s in ("catalog.ecsv", "regions.reg", "mask.fits", "probability.fits", "png")
    )
    with fits.open(image) as original, fits.open(tmp_path / f"{stem}.mask.fits") as mask:
        assert mask[0].data.shape == original[0].data.shape
        assert mask[0].data.dtype.kind in "iu"
        wcs_in, wcs_out = WCS(original[0].header).celestial, WCS(mask[0].header)
        for x, y in [(0, 0), (150, 20)]:
            assert (
                wcs_in.pixel_to_world(x, y).separation(wcs_out.pixel_to_world(x, y))
                < 1e-6 * u.arcsec
            )
    table = QTable.read(tmp_path / f"{stem}.catalog.ecsv")
    assert table.meta["model"] == "cli-test@0.1.0"
    assert len(Regions.read(tmp_path / f"{stem}.regions.reg", format="ds9")) == len(table)
    # A second run refuses to overwrite, unless asked.
    assert run("detect", image, "-o", tmp_path, "--model", model_card, "--no-progress") == 2
    assert (
        run("detect", image, "-o", tmp_path, "--model", model_card, "--no-progress", "--overwrite")
        == 0
    )


def test_detect_bad_input_fails_cleanly(real_data_path, tmp_path, model_card, capsys):
    bad = tmp_path / "in" / "notes.fits"
    bad.parent.mkdir()
    bad.write_text("not a FITS file")
    out = tmp_path / "out"
    assert run("detect", bad, "-o", out, "--model", model_card) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "is not a FITS file" in error[0]
    assert list(out.iterdir()) == []  # no partial outputs
    assert run("detect", real_data_path(*MWA), "-o", out, "--model", model_card) == 1
    message = capsys.readouterr().err
    assert "no restoring beam" in message and "--beam ARCSEC" in message
    assert list(out.iterdir()) == []
    assert run("detect", "-o", out, "--model", "no-such-model") == 2
    low = ["--threshold", 0.3, "--low-threshold", 0.5]
    assert run("detect", "--example", "-o", out, "--model", model_card, *low) == 2
    assert "low_threshold must be in (0, threshold=0.3]" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_detect_example(tmp_path, model_card):
    low = ["--low-threshold", 0.2]
    assert run("detect", "--example", "-o", tmp_path, "--model", model_card, *low) == 0
    catalog = Table.read(tmp_path / "example_field.image.catalog.ecsv")
    assert catalog.meta["threshold"] == 0.3 and catalog.meta["low_threshold"] == 0.2


def test_simulate_writes_fields(tmp_path):
    status = run(
        "simulate",
        "-n",
        2,
        "--size",
        64,
        "--pixel-scale",
        6,
        "--beam",
        20,
        "--rms",
        1e-4,
        "-o",
        tmp_path,
        "--seed",
        3,
        "--no-progress",
    )
    assert status == 0
    images = sorted(tmp_path.glob("*.image.fits"))
    assert len(images) == 2
    with fits.open(images[0]) as hdul:
        assert hdul[0].header["BMAJ"] == pytest.approx(20 / 3600)
        assert np.std(hdul[0].data) > 0


def test_models_lists(capsys):
    assert run("models") == 0
    assert capsys.readouterr().out.strip()


def test_train_and_export(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(
        '[model]\nname = "tiny-cli"\n[model.args]\ndepth = 2\nbase_width = 4\nnorm = "group"\n'
        "[grid]\ntile_size = 64\ntile_overlap = 16\n"
        "[data]\nfield_size = 96\ntiles_per_field = 2\nvalidation_fields = 1\n"
        "[training]\nbatch_size = 2\nsteps_per_epoch = 2\nepochs = 1\nnum_workers = 0\n"
    )
    status = run(
        "train",
        "--config",
        config,
        "--output",
        tmp_path / "run",
        "--export",
        tmp_path / "model",
        "--no-progress",
    )
    assert status == 0
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    card = tmp_path / "model" / "tiny-cli-0.1.0.json"
    assert card.exists()
    assert "train --config" in card.read_text()
    assert run("train", "--resume", tmp_path / "run", "--no-progress") == 0


def test_detect_with_a_separate_native_image(real_data_path, tmp_path, capsys):
    from diffuseradio import SurveyMosaic

    config = TrainingConfig.from_dict(
        {
            "model": {"name": "cli-2res", "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16, "native_beam_arcsec": 6.0},
        }
    )
    network = UNet(in_channels=2, num_classes=1, **config.model.args)
    card = export_model(network, config, tmp_path / "model")
    native = real_data_path(*P218)
    tapered = tmp_path / "in" / "P218_20arcsec.fits"
    tapered.parent.mkdir()
    SurveyMosaic.read(native).smooth_and_resample(20 * u.arcsec, 4.5 * u.arcsec).write(tapered)
    out = tmp_path / "out"
    assert run("detect", tapered, "-o", out, "--model", card, "--no-progress") == 1
    assert "needs the image at native resolution" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
    both = ["--native", native, "--native", native]
    assert run("detect", tapered, "-o", out, "--model", card, *both) == 2
    assert "give --native once per IMAGE: 2 for 1" in capsys.readouterr().err
    args = ["-o", out, "--model", card, "--no-progress", "--native", native]
    assert run("detect", tapered, *args) == 0
    with fits.open(out / "P218_20arcsec.mask.fits") as mask:
        assert mask[0].data.shape == SurveyMosaic.read(tapered).shape
    assert run("detect", native, "-o", tmp_path / "out6", "--model", card, "--no-progress") == 0


def test_train_islands_adds_a_second_stage(tmp_path, model_card, real_data_path, capsys):
    status = run(
        "train-islands", model_card, "--card-version", "0.2.0", "--output", tmp_path / "two",
        "--fields", 2, "--validation-fields", 2, "--epochs", 1, "--cutout-pixels", 16,
        "--precision", "fp32", "--examples-dir", tmp_path / "examples",
        "--batch-size", 16, "--learning-rate", 1e-3, "--classifier-widths", 8, 16, 24,
        "--no-progress",
    )  # fmt: skip
    assert status == 0
    kept = sorted(path.name.split("-")[2] for path in (tmp_path / "examples").glob("*.npz"))
    assert kept == ["training", "validation"]
    saved = tmp_path / "two" / "cli-test-0.2.0.json"
    assert capsys.readouterr().out.strip() == f"saved {saved}"
    detector = DiffuseDetector.from_pretrained(saved, device="cpu")
    assert detector.card.island_settings.cutout_pixels == 16
    assert detector.card.training["islands"]["precision"] == "float32"
    assert detector.card.training["islands"]["base_model"] == "cli-test@0.1.0"
    assert detector.card.training["islands"]["fields"] == 2
    assert detector.card.training["islands"]["batch_size"] == 16
    assert detector.card.islands["args"] == {"widths": [8, 16, 24]}
    assert detector.model.island_classifier.head[2].in_features == 24 * 4 * 4
    base = DiffuseDetector.from_pretrained(model_card, device="cpu")
    mosaic = SurveyMosaic.read(real_data_path(*P218))
    two_stage = detector.predict(mosaic, augment=False)
    one_stage = base.predict(mosaic, augment=False)
    assert (two_stage >= one_stage - 1e-6)[np.isfinite(one_stage)].all()  # only ever raised


def test_train_islands_needs_a_training_configuration(tmp_path, capsys):
    path = save_model(tiny_network(), tiny_card(), tmp_path / "plain")
    status = run("train-islands", path, "--card-version", "2", "--output", tmp_path / "out")
    assert status == 2
    assert "has no training configuration in its card" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_detect_batch_reports_a_bad_image_and_runs_the_others(tmp_path, model_card, capsys):
    bad = tmp_path / "in" / "bad.fits"
    bad.parent.mkdir()
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    out = tmp_path / "out"
    args = ["-o", out, "--model", model_card, "--no-progress"]
    assert run("detect", bad, "--example", *args) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 2 and "bad.fits" in error[0]
    assert error[1] == "diffuseradio detect: 1 of 2 images failed"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"example_field.image.{s}"
        for s in ("catalog.ecsv", "regions.reg", "mask.fits", "probability.fits", "png")
    )


def test_detect_refuses_before_any_work(tmp_path, model_card, capsys):
    image = tmp_path / "a" / "field.fits"
    image.parent.mkdir()
    SurveyMosaic.read(example_field_path()).write(image)
    twin = tmp_path / "b" / "field.fits"
    twin.parent.mkdir()
    twin.write_bytes(image.read_bytes())
    out = tmp_path / "out"
    assert run("detect", image, twin, "-o", out, "--model", model_card) == 2
    assert "would both write" in capsys.readouterr().err
    assert not out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run("detect", image, "-o", blocker / "out", "--model", model_card) == 2
    assert "cannot write into the output folder" in capsys.readouterr().err
    for size in ("0", "-3", "two"):
        with pytest.raises(SystemExit) as exit_:
            run("detect", image, "-o", out, "--model", model_card, "--batch-size", size)
        assert exit_.value.code == 2
    assert "--batch-size: must be >= 1, not -3" in capsys.readouterr().err


def test_detect_beam_option_never_replaces_a_header_beam(
    real_data_path, tmp_path, model_card, capsys
):
    image = real_data_path(*P218)  # 6" beam in its header
    out = tmp_path / "out"
    args = ["-o", out, "--model", model_card, "--no-progress"]
    assert run("detect", image, "--beam", 20, *args) == 1
    error = capsys.readouterr().err
    assert 'has a 6"x6" beam in its header; the beam given' in error
    assert "is for images without one" in error
    assert list(out.iterdir()) == []
    assert run("detect", image, "--beam", 6, *args) == 0  # the same beam: harmless


def test_version_verbose_after_the_command_and_defaults_in_help(tmp_path, model_card, capsys):
    from diffuseradio import __version__

    with pytest.raises(SystemExit) as exit_:
        run("--version")
    assert (
        exit_.value.code == 0 and capsys.readouterr().out.strip() == f"diffuseradio {__version__}"
    )
    with pytest.raises(SystemExit):
        run("detect", "--help")
    text = capsys.readouterr().out
    assert "tiles per forward pass (default: 8)" in text and "(default: None)" not in text
    args = ["--example", "-o", tmp_path, "--model", model_card, "--no-progress"]
    assert run("detect", *args, "-v") == 0


def test_a_warning_is_printed_once(tmp_path, model_card):
    """As a user's shell sees it (a fresh process): astropy's logger prints the
    warning, the CLI's logging does not print it again."""
    import subprocess
    import sys

    image = tmp_path / "nounit.fits"
    with fits.open(example_field_path()) as hdul:
        header = hdul[0].header.copy()
        del header["BUNIT"]
        fits.PrimaryHDU(hdul[0].data, header).writeto(image)
    args = [str(image), "-o", str(tmp_path / "out"), "--model", model_card, "--no-progress"]
    code = "import sys; from diffuseradio.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "detect", *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count("no BUNIT in the header") == 1


def test_angles_on_the_command_line_take_units(tmp_path, model_card, capsys):
    """--beam 0.1arcmin is 6": the example field's header beam, so it is accepted;
    --beam 20 (arcsec) is not; a non-angle is a usage error."""
    args = ["--example", "-o", tmp_path, "--model", model_card, "--no-progress"]
    assert run("detect", *args, "--beam", "0.1arcmin") == 0
    assert run("detect", *args, "--overwrite", "--beam", "20") == 1
    with pytest.raises(SystemExit) as exit_:
        run("detect", *args, "--beam", "3 Jy")
    assert exit_.value.code == 2
    assert "'3 Jy' is not a positive angle" in capsys.readouterr().err


def test_interrupt_ends_in_one_line(monkeypatch, tmp_path, capsys):
    import diffuseradio.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_detect", interrupted)
    assert run("detect", "--example", "-o", tmp_path) == 130
    assert capsys.readouterr().err.strip() == "diffuseradio detect: interrupted"


def test_every_option_of_every_command_has_a_help_text():
    import argparse

    from diffuseradio.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        (name, action.option_strings or action.dest)
        for name, command in commands.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []
    shared = ["--beam", "--overwrite", "--threshold", "--low-threshold", "--min-area-beams"]
    for name in ("detect", "survey", "clusters"):
        options = {o for action in commands.choices[name]._actions for o in action.option_strings}
        assert set(shared) <= options, name
