"""Surveys of several mosaics on a Dask cluster: merge, de-duplication, resumption.

Three mosaics are cut from one simulated field with overlapping footprints,
so the overlaps hold the same sky pixels, and run with a small untrained
network. Its probabilities sit between about 0.4 and 0.8, so a threshold of
0.75 gives several small detections per mosaic, some of them in the
overlaps: enough to check the mechanics (detection quality is tested
elsewhere).
"""

import json
import os

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Table, vstack
from regions import Regions

from diffuseradio import SurveyMosaic
from diffuseradio.catalog import OUTPUTS, mosaic_stem, output_paths
from diffuseradio.cli import main
from diffuseradio.detector import DiffuseDetector
from diffuseradio.models import UNet
from diffuseradio.simulate import SkySimulator
from diffuseradio.survey import deduplicate, run_survey
from diffuseradio.training import TrainingConfig, export_model

distributed = pytest.importorskip("distributed")

THRESHOLD = 0.75
HEIGHT, CROP = 160, 120  # mosaic shape in pixels; neighbours overlap by 30 pixels (3')
STARTS = (0, 90, 180)
SETTINGS = {"threshold": THRESHOLD, "min_area_beams": 1.0, "progress": False}


@pytest.fixture(scope="module")
def model_card(tmp_path_factory):
    config = TrainingConfig.from_dict(
        {
            "model": {
                "name": "survey-test",
                "args": {"depth": 2, "base_width": 4, "norm": "group"},
            },
            "grid": {"tile_size": 64, "tile_overlap": 16},
        }
    )
    torch.manual_seed(0)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    return str(export_model(network, config, tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def mosaics(tmp_path_factory):
    """Three 160 x 120 mosaics (20" beam, 6" pixels) side by side, overlapping."""
    simulator = SkySimulator(
        (HEIGHT, 300),
        6 * u.arcsec,
        20 * u.arcsec,
        100 * u.uJy / u.beam,
        seed=4,
        halo_density=60 / u.deg**2,
        relic_density=40 / u.deg**2,
    )
    field = simulator.field(0).mosaic
    folder = tmp_path_factory.mktemp("mosaics")
    paths = []
    for k, start in enumerate(STARTS):
        columns = slice(start, start + CROP)
        crop = SurveyMosaic(field.data[:, columns], field.wcs[:, columns], beam=field.beam)
        paths.append(folder / f"P{k}.fits")
        crop.write(paths[-1])
    return paths


@pytest.fixture(scope="module")
def client():
    """A one-worker cluster in this process: quick to start, warnings stay errors."""
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def full_run(mosaics, model_card, client, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("full")
    return run_survey(mosaics, outdir, model=model_card, client=client, **SETTINGS), outdir


def union_of_mosaic_catalogues(outdir, stems):
    """All detections of the mosaics, with the offset from their mosaic's centre."""
    tables = []
    for stem in stems:
        table = QTable.read(outdir / f"{stem}.catalog.ecsv")
        table.meta.clear()
        table["mosaic"] = stem
        x = table["x_centroid"].value - (CROP - 1) / 2
        y = table["y_centroid"].value - (HEIGHT - 1) / 2
        table["offset"] = np.hypot(x, y) / (CROP / 2)
        tables.append(table)
    return vstack(tables)


def same_source(a, b):
    """The documented rule: different mosaics, within max(1', half the smaller size)."""
    radius = max(1 * u.arcmin, 0.5 * min(a["largest_angular_size"], b["largest_angular_size"]))
    separation = a["sky_centroid"].separation(b["sky_centroid"])
    return a["mosaic"] != b["mosaic"] and separation <= radius


def kept_order(catalog):
    """(mosaic, id) of each row."""
    return list(zip(catalog["mosaic"], catalog["id"]))


def test_survey_writes_every_mosaic_and_a_deduplicated_catalogue(full_run, mosaics):
    result, outdir = full_run
    stems = [mosaic_stem(p) for p in mosaics]
    summary = result.summary
    assert list(summary["mosaic"]) == stems
    assert list(summary["status"]) == ["done"] * 3
    assert not summary["resumed"].any() and result.failed == []
    for stem, path in zip(stems, mosaics):
        for suffix in OUTPUTS:
            assert (outdir / f"{stem}.{suffix}").is_file()
        with fits.open(path) as image, fits.open(outdir / f"{stem}.mask.fits") as mask:
            assert mask[0].data.shape == image[0].data.shape
    union = union_of_mosaic_catalogues(outdir, stems)
    assert list(summary["detections"]) == [np.sum(union["mosaic"] == s) for s in stems]
    catalog = result.catalog
    # Some detections were in the overlaps and are kept once.
    assert 0 < len(catalog) < len(union)
    assert summary["kept"].sum() == len(catalog)
    kept = set(zip(catalog["mosaic"], catalog["id"]))
    assert kept <= set(zip(union["mosaic"], union["id"]))
    rows = list(catalog)
    for i, a in enumerate(rows):
        assert not any(same_source(a, b) for b in rows[i + 1 :])
    for row in union:
        if (row["mosaic"], row["id"]) not in kept:
            nearer = [
                k
                for k in union
                if (k["mosaic"], k["id"]) in kept
                and same_source(row, k)
                and k["offset"] <= row["offset"]
            ]
            assert nearer, f"{row['mosaic']}:{row['id']} left out without a match"
    offsets = dict(zip(zip(union["mosaic"], union["id"]), union["offset"]))
    assert np.allclose(catalog["mosaic_offset"], [offsets[key] for key in kept_order(catalog)])
    written = QTable.read(outdir / "survey.catalog.ecsv")
    assert list(written["mosaic"]) == list(catalog["mosaic"])
    assert written.meta["model"] == "survey-test@0.1.0"
    assert written.meta["threshold"] == THRESHOLD
    regions = Regions.read(outdir / "survey.regions.reg", format="ds9")
    assert [str(r.meta["text"]) for r in regions] == [f"{m}:{i}" for m, i in kept_order(catalog)]
    assert result.files["summary"] == outdir / "survey.summary.ecsv"
    assert list(QTable.read(result.files["summary"])["status"]) == ["done"] * 3


def test_interrupted_survey_resumes_to_the_same_catalogue(
    full_run, mosaics, model_card, client, tmp_path
):
    _, full = full_run
    # A first run stopped after one mosaic...
    first = run_survey(mosaics[:1], tmp_path, model=model_card, client=client, **SETTINGS)
    assert list(first.summary["status"]) == ["done"]
    # ...then a worker killed while writing the second: leftovers, no manifest record.
    scratch = tmp_path / ".P1.scratch-abc123"
    scratch.mkdir()
    (scratch / "P1.mask.fits").write_bytes(b"partial")
    (tmp_path / "P1.catalog.ecsv").write_text("half a catalogue")
    result = run_survey(mosaics, tmp_path, model=model_card, client=client, **SETTINGS)
    assert list(result.summary["resumed"]) == [True, False, False]
    assert list(result.summary["status"]) == ["done"] * 3
    assert not scratch.exists()
    for name in ("survey.catalog.ecsv", "survey.regions.reg"):
        assert (tmp_path / name).read_text() == (full / name).read_text()
    # Once all is done, a rerun redoes nothing and needs no cluster.
    states = {p.name: p.stat().st_mtime_ns for p in output_paths(tmp_path, "P2", plot=False)}
    again = run_survey(mosaics, tmp_path, model=model_card, **SETTINGS)
    assert again.summary["resumed"].all()
    assert {p.name: p.stat().st_mtime_ns for p in output_paths(tmp_path, "P2", plot=False)} == (
        states
    )
    # An output changed since it was recorded makes its mosaic run again.
    os.utime(tmp_path / "P2.regions.reg", ns=(0, 0))
    redone = run_survey(mosaics, tmp_path, model=model_card, client=client, **SETTINGS)
    assert list(redone.summary["resumed"]) == [True, True, False]


def test_new_settings_redo_mosaics_loading_the_model_once_per_worker(
    mosaics, model_card, client, tmp_path, monkeypatch
):
    run_survey(mosaics[:2], tmp_path, model=model_card, client=client, **SETTINGS)
    loads = []
    load = DiffuseDetector.from_pretrained

    def counting(*args, **kwargs):
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(DiffuseDetector, "from_pretrained", staticmethod(counting))
    settings = {**SETTINGS, "threshold": 0.7}
    result = run_survey(mosaics, tmp_path, model=model_card, client=client, **settings)
    assert not result.summary["resumed"].any()
    assert len(loads) == 1
    manifest = json.loads((tmp_path / "survey.manifest.json").read_text())
    assert {r["settings"]["threshold"] for r in manifest["mosaics"].values()} == {0.7}
    settings["low_threshold"] = 0.6  # detections grow: done again
    result = run_survey(mosaics, tmp_path, model=model_card, client=client, **settings)
    assert not result.summary["resumed"].any()
    manifest = json.loads((tmp_path / "survey.manifest.json").read_text())
    assert {r["settings"]["low_threshold"] for r in manifest["mosaics"].values()} == {0.6}
    assert Table.read(tmp_path / f"{mosaic_stem(mosaics[0])}.catalog.ecsv").meta[
        "low_threshold"
    ] == pytest.approx(0.6)


def test_overwrite_redoes_and_beam_is_for_mosaics_without_one(
    mosaics, model_card, client, tmp_path
):
    first = run_survey(mosaics[:1], tmp_path / "out", model=model_card, client=client, **SETTINGS)
    again = run_survey(
        mosaics[:1], tmp_path / "out", model=model_card, client=client, overwrite=True, **SETTINGS
    )
    assert not again.summary["resumed"].any()
    assert len(again.catalog) == len(first.catalog) > 0
    with fits.open(mosaics[0]) as hdul:
        header = hdul[0].header
        beam = header["BMAJ"] * u.deg
        for key in ("BMAJ", "BMIN", "BPA"):
            del header[key]
        beamless = tmp_path / "in" / "beamless.fits"
        beamless.parent.mkdir()
        fits.PrimaryHDU(hdul[0].data, header).writeto(beamless)
    refused = run_survey(beamless, tmp_path / "a", model=model_card, client=client, **SETTINGS)
    assert "no restoring beam" in refused.summary["reason"][0]
    given = run_survey(
        beamless, tmp_path / "b", model=model_card, client=client, beam=beam, **SETTINGS
    )
    assert list(given.summary["status"]) == ["done"]
    assert len(given.catalog) == len(first.catalog)
    other = run_survey(
        mosaics[:1], tmp_path / "c", model=model_card, client=client, beam=2 * beam, **SETTINGS
    )
    assert "is for images without one" in other.summary["reason"][0]


def test_corrupt_mosaic_fails_alone(mosaics, model_card, client, tmp_path):
    bad = tmp_path / "in" / "broken.fits"
    bad.parent.mkdir()
    bad.write_text("not a FITS file")
    out = tmp_path / "out"
    result = run_survey([mosaics[0], bad], out, model=model_card, client=client, **SETTINGS)
    assert result.failed == ["broken"]
    summary = result.summary
    assert list(summary["status"]) == ["done", "failed"]
    assert summary["reason"][1].startswith("InvalidImageError:")
    assert "is not a FITS file" in summary["reason"][1]
    assert summary["detections"][1] == 0
    assert not list(out.glob("broken.*"))
    assert set(result.catalog["mosaic"]) == {"P0"}
    manifest = json.loads((out / "survey.manifest.json").read_text())["mosaics"]
    assert manifest["broken"]["status"] == "failed"
    assert "is not a FITS file" in manifest["broken"]["reason"]
    # A rerun tries the failed mosaic again and keeps the one done.
    rerun = run_survey([mosaics[0], bad], out, model=model_card, client=client, **SETTINGS)
    assert list(rerun.summary["resumed"]) == [True, False]
    nothing = run_survey(bad, tmp_path / "none", model=model_card, client=client, **SETTINGS)
    assert nothing.failed == ["broken"] and len(nothing.catalog) == 0


def test_crossmatch_with_a_cluster_catalogue(full_run, mosaics, model_card, tmp_path):
    result, outdir = full_run
    first, second = result.catalog["sky_centroid"][:2]
    clusters = Table(
        {
            "NAME": ["PSZ2 A", "PSZ2 B", "PSZ2 far"],
            "RA": [first.ra.deg, second.ra.deg, 10.0] * u.deg,
            "DEC": [first.dec.deg + 20 / 3600, second.dec.deg, -30.0] * u.deg,
        }
    )
    path = tmp_path / "psz2.fits"
    clusters.write(path)
    again = run_survey(mosaics, outdir, model=model_card, crossmatch=path, **SETTINGS)
    matched = again.crossmatch
    assert {"PSZ2 A", "PSZ2 B"} <= set(matched["NAME"])
    assert "PSZ2 far" not in set(matched["NAME"])
    assert np.all(matched["separation"] <= 3 * u.arcmin)
    assert len(QTable.read(again.files["crossmatch"])) == len(matched)


def test_crossmatch_with_the_planck_catalogue_file(full_run, mosaics, model_card, real_data_path):
    psz2 = real_data_path("catalogues", "HFI_PCCS_SZ-union_R2.08.fits")
    result, outdir = full_run
    # Published catalogues carry units astropy does not parse ('None'): still read.
    matched = run_survey(mosaics, outdir, model=model_card, crossmatch=psz2, **SETTINGS).crossmatch
    assert {"NAME", "REDSHIFT", "MSZ", "separation"} <= set(matched.colnames)
    assert len(matched) <= len(result.catalog)


def test_deduplicate_keeps_the_detection_nearest_its_mosaic_centre():
    north = [0, 180, 220, 30, 200, 0, 100]  # arcsec north of Dec 40
    table = QTable(
        {
            "id": [1, 2, 3, 1, 2, 3, 1],
            "sky_centroid": SkyCoord(
                [180.0] * 5 + [180.3] * 2, 40 + np.array(north) / 3600, unit="deg"
            ),
            "largest_angular_size": [0.5, 0.5, 0.5, 0.5, 0.5, 8.0, 6.0] * u.arcmin,
            "mosaic": ["A", "A", "A", "B", "B", "B", "C"],
            "mosaic_offset": [0.9, 0.2, 0.95, 0.3, 0.8, 0.1, 0.5],
        }
    )
    kept = deduplicate(table)
    # A1 and B1 (30" apart) are one source: B1 is nearer its centre. B2 is 20"
    # from A2 (nearer its centre) and from A3; A2 and A3 (40" apart) are both in
    # A, so both stay. C1 is 100" from B3: within half the smaller size (3').
    assert list(zip(kept["mosaic"], kept["id"])) == [("A", 2), ("A", 3), ("B", 1), ("B", 3)]
    assert len(deduplicate(table, match_radius=10 * u.arcsec)) == 6
    assert len(deduplicate(table[:1])) == 1


def test_cli_survey(mosaics, model_card, client, tmp_path, capsys):
    bad = tmp_path / "broken.fits"
    bad.write_text("not a FITS file")
    out = tmp_path / "out"
    common = ["--model", model_card, "--threshold", THRESHOLD, "--min-area-beams", 1]
    common += ["--no-progress", "--scheduler", client.scheduler.address]

    def run(*args):
        return main([str(a) for a in args])

    assert run("survey", *mosaics[:2], bad, "-o", out, *common) == 1
    printed = capsys.readouterr().out
    assert "broken" in printed and "InvalidImageError" in printed
    assert "2 of 3 mosaics done, 1 failed" in printed
    assert run("survey", *mosaics[:2], "-o", out, *common) == 0
    assert "2 of 2 mosaics done, 0 failed" in capsys.readouterr().out
    # Bad arguments: exit status 2 with a one-line reason.
    assert run("survey", tmp_path / "missing.fits", "-o", out, *common) == 2
    assert "no such mosaic" in capsys.readouterr().err
    assert run("survey", *mosaics[:1], "-o", out, *common, "--workers", 2) == 2
    assert "cannot go with a client" in capsys.readouterr().err
    assert run("survey", *mosaics[:1], "-o", out, "--model", model_card, "--threshold", 2) == 2
    low = ["--threshold", 0.5, "--low-threshold", 0.6]
    assert run("survey", *mosaics[:1], "-o", out, "--model", model_card, *low) == 2
    assert "low_threshold must be in (0, threshold=0.5], got 0.6" in capsys.readouterr().err
    assert run("survey", *mosaics[:1], mosaics[0], "-o", out, "--model", model_card) == 2
    assert run("survey", *mosaics[:1], "-o", out, "--model", "no-such-model") == 2
    with pytest.raises(SystemExit) as exit_status:
        run("survey", "-o", out)
    assert exit_status.value.code == 2


def test_cli_survey_on_a_local_cluster(mosaics, model_card, tmp_path, capsys):
    """The default: a local cluster of worker processes, started and closed."""
    status = main(
        [
            "survey",
            str(mosaics[0]),
            "-o",
            str(tmp_path),
            "--model",
            model_card,
            "--workers",
            "1",
            "--threshold",
            str(THRESHOLD),
            "--no-progress",
        ]
    )
    assert status == 0
    assert "1 of 1 mosaics done, 0 failed" in capsys.readouterr().out
    assert len(QTable.read(tmp_path / "survey.summary.ecsv")) == 1


def test_two_channel_model_with_native_images(client, tmp_path):
    config = TrainingConfig.from_dict(
        {
            "model": {
                "name": "survey-2res",
                "args": {"depth": 2, "base_width": 4, "norm": "group"},
            },
            "grid": {"tile_size": 64, "tile_overlap": 16, "native_beam_arcsec": 6.0},
        }
    )
    torch.manual_seed(0)
    card = export_model(UNet(in_channels=2, num_classes=1, **config.model.args), config, tmp_path)
    field = SkySimulator(
        96, 6 * u.arcsec, 20 * u.arcsec, 100 * u.uJy / u.beam, seed=5, native_beam=6 * u.arcsec
    ).field(0)
    tapered, native = tmp_path / "T0.fits", tmp_path / "T0-6arcsec.fits"
    field.mosaic.write(tapered)
    field.native.write(native)
    out = tmp_path / "out"
    alone = run_survey(tapered, out, model=card, client=client, **SETTINGS)
    assert alone.failed == ["T0"]
    assert "needs the image at native resolution" in alone.summary["reason"][0]
    result = run_survey(tapered, out, natives=[native], model=card, client=client, **SETTINGS)
    assert result.failed == [] and not result.summary["resumed"][0]
    manifest = json.loads((out / "survey.manifest.json").read_text())["mosaics"]["T0"]
    assert manifest["native"] == str(native)
    again = run_survey(tapered, out, natives=[native], model=card, client=client, **SETTINGS)
    assert again.summary["resumed"][0]
    field.native.write(native, overwrite=True)  # a new native image: done again
    redone = run_survey(tapered, out, natives=[native], model=card, client=client, **SETTINGS)
    assert not redone.summary["resumed"][0] and redone.failed == []
    with pytest.raises(ValueError, match="one native image per mosaic: 2 for 1"):
        run_survey(tapered, out, natives=[native, native], model=card, client=client)
    with pytest.raises(FileNotFoundError, match="no such native image"):
        run_survey(tapered, out, natives=[tmp_path / "missing.fits"], model=card, client=client)


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    """While a survey holds its output folder, another is refused with the holder
    named; a lock whose process is gone is taken over."""
    import json
    import os
    import socket
    import subprocess
    import sys

    from diffuseradio import OutputLockedError
    from diffuseradio.atomic import folder_lock

    with folder_lock(tmp_path, "survey"):
        with pytest.raises(OutputLockedError, match=f"process {os.getpid()} on"):
            with folder_lock(tmp_path, "survey"):
                pass
    assert not (tmp_path / ".lock").exists()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = {"pid": int(gone.stdout), "host": socket.gethostname(), "started": 0.0}
    (tmp_path / ".lock").write_text(json.dumps(stale))
    with folder_lock(tmp_path, "survey") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_survey_command_prints_no_dask_chatter(tmp_path):
    """A successful run prints its summary, not dask.distributed's INFO lines."""
    import subprocess
    import sys

    from diffuseradio.examples import example_field_path

    code = "import sys; from diffuseradio.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "survey", str(example_field_path()), "-o", str(tmp_path),
         "--no-progress"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "1 of 1 mosaics done" in output
    assert "distributed" not in output and "Traceback" not in output
