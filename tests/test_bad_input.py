"""Bad input on the command line: one table of kinds, each refused in one line.

Each case writes its bad input into a temporary folder, runs the command and
checks the exit status (1: an input failed; 2: a usage error, nothing ran),
that the error is one line naming the problem, and that no product is left in
the output folder.
"""

import numpy as np
import pytest
import torch
from astropy.io import fits
from helpers import untrained_model_card

from diffuseradio.cli import main
from diffuseradio.examples import example_field_path


@pytest.fixture(scope="module")
def model_card(tmp_path_factory):
    return untrained_model_card(tmp_path_factory.mktemp("model"), "bad-input")


def _example(tmp_path, change=None, data=None, name="image.fits"):
    """The example field, its header or data changed."""
    with fits.open(example_field_path()) as hdul:
        header, pixels = hdul[0].header.copy(), np.array(hdul[0].data)
    if change:
        change(header)
    path = tmp_path / name
    fits.PrimaryHDU(pixels if data is None else data(pixels), header).writeto(path)
    return path


def _set(**keywords):
    def change(header):
        for key, value in keywords.items():
            if value is None:
                del header[key]
            else:
                header[key] = value

    return change


def _non_square(header):
    header["CDELT2"] = 2 * abs(header["CDELT1"])


def _truncated(tmp_path):
    path = _example(tmp_path)
    path.write_bytes(path.read_bytes()[:20_000])
    return path


def _text(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("observing notes, not an image")
    return path


CASES = {
    "not a FITS file": (_text, [], 1, "is not a FITS file"),
    "truncated FITS file": (_truncated, [], 1, "is truncated"),
    "no beam": (lambda t: _example(t, _set(BMAJ=None, BMIN=None, BPA=None)), [], 1,
                "--beam ARCSEC"),
    "zero beam": (lambda t: _example(t, _set(BMAJ=0.0, BMIN=0.0)), [], 1, "is not a beam"),
    "BMIN > BMAJ": (lambda t: _example(t, _set(BMIN=0.01)), [], 1, "larger than BMAJ"),
    "constant image": (lambda t: _example(t, data=lambda d: np.zeros_like(d)), [], 1,
                       "holds no noise"),
    "all blanked": (lambda t: _example(t, data=lambda d: np.full_like(d, np.nan)), [], 1,
                    "entirely blanked"),
    "non-square pixels": (lambda t: _example(t, _non_square), [], 1, "not square"),
    "inconsistent WCS projections": (lambda t: _example(t, _set(CTYPE2="DEC--TAN")), [], 1,
                                     "Inconsistent projection types"),
    "beam too coarse": (lambda t: _example(t, _set(BMAJ=0.05, BMIN=0.05)), [], 1,
                        "outside the 4-24 arcsec range"),
    "unit not a brightness": (lambda t: _example(t, _set(BUNIT="K km/s")), [], 1,
                              "is not a surface brightness"),
    "--beam against the header's": (lambda t: _example(t), ["--beam", "20"], 1,
                                    "is for images without one"),
    "missing model file URL": (lambda t: _example(t), ["--model", "file:///no/such.json"], 2,
                               "could not download"),
    "unknown model": (lambda t: _example(t), ["--model", "no-such-model"], 2, "no-such-model"),
    "low threshold above threshold": (lambda t: _example(t), ["--threshold", "0.3",
                                      "--low-threshold", "0.5"], 2, "low_threshold must be"),
}  # fmt: skip


@pytest.mark.parametrize("kind", CASES)
def test_detect_refuses_bad_input_in_one_line(kind, tmp_path, model_card, capsys):
    make, options, status, message = CASES[kind]
    source = tmp_path / "in"
    source.mkdir()
    image = make(source)
    out = tmp_path / "out"
    options = list(options)
    if "--model" not in options:
        options += ["--model", model_card]
    code = main(["detect", str(image), "-o", str(out), "--no-progress", *options])
    assert code == status
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert "wcs.c" not in error[0] and " line " not in error[0]  # no C source locations
    assert not out.exists() or list(out.iterdir()) == []


def test_survey_and_clusters_refuse_bad_input_in_one_line(tmp_path, model_card, capsys):
    pytest.importorskip("distributed")
    image = _example(tmp_path)
    out = tmp_path / "survey"
    if not torch.cuda.is_available():
        assert main(["survey", str(image), "-o", str(out), "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
    out.mkdir(exist_ok=True)
    (out / "survey.manifest.json").write_text("{broken")
    assert main(["survey", str(image), "-o", str(out), "--model", model_card]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "survey.manifest.json is corrupt" in error[0]
    table = tmp_path / "clusters.txt"
    table.write_text("not a table\n")
    assert main(["clusters", str(table), str(image), "-o", str(tmp_path / "c")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "cannot read" in error[0] and "as a catalogue" in error[0]


def test_a_full_disk_fails_in_one_line_and_leaves_nothing(
    tmp_path, model_card, capsys, monkeypatch
):
    """No space left while the maps are written: one line, exit 1, no partial products."""
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fits.StreamingHDU, "write", full)
    image = _example(tmp_path)
    out = tmp_path / "out"
    code = main(["detect", str(image), "-o", str(out), "--no-progress", "--model", model_card])
    assert code == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "No space left on device" in error[0], error
    assert not out.exists() or [p.name for p in out.iterdir()] == []
