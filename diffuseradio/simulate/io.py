"""Writing simulated fields to disk.

Each field becomes three files with a common stem: ``STEM.image.fits``
(float32 Jy/beam with a LoTSS-style header plus ``SIMSEED``/``SIMINDEX``),
``STEM.truth.fits`` (uint8 class map on the same WCS) and
``STEM.objects.ecsv`` (the object table), and ``STEM.native.fits`` (the
native-resolution image) when the simulator makes one. Every file is written under a
temporary name and renamed, so an interrupted run leaves no partial file.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits
from tqdm.auto import tqdm

from .field import DIFFUSE_CLASSES

__all__ = ["write_field", "write_fields"]


def write_field(field, stem):
    """Write one simulated field as image, truth and object-table files.

    Parameters
    ----------
    field : `~diffuseradio.simulate.field.SimulatedField`
        The field.
    stem : str or os.PathLike
        Output path without suffix; ``.image.fits``, ``.truth.fits`` and
        ``.objects.ecsv`` are appended. Existing files are replaced.

    Returns
    -------
    list of pathlib.Path
        The files (three, or four with a native image).
    """
    stem = Path(stem)
    mosaic = field.mosaic
    header = mosaic.header
    header["OBJECT"] = ("diffuseradio simulation", "simulated field")
    header["ORIGIN"] = "diffuseradio.simulate"
    header["SIMSEED"] = (str(mosaic.meta.get("seed")), "SkySimulator master seed")
    header["SIMINDEX"] = (mosaic.meta.get("index"), "field index")
    truth_header = mosaic.wcs.to_header()
    truth_header["BUNIT"] = ("", "truth class")
    for value, name in DIFFUSE_CLASSES.items():
        truth_header[f"CLASS{value}"] = (name, f"truth value {value}")
    paths = [Path(f"{stem}.{suffix}") for suffix in ("image.fits", "truth.fits", "objects.ecsv")]
    writers = [
        lambda path: fits.PrimaryHDU(np.asarray(mosaic.data, np.float32), header).writeto(path),
        lambda path: fits.PrimaryHDU(field.truth, truth_header).writeto(path),
        lambda path: field.objects.write(path, format="ascii.ecsv"),
    ]
    if field.native is not None:
        native = field.native
        native_header = native.header
        for key in ("OBJECT", "ORIGIN", "SIMSEED", "SIMINDEX"):
            native_header[key] = (header[key], header.comments[key])
        paths.append(Path(f"{stem}.native.fits"))
        writers.append(
            lambda path: fits.PrimaryHDU(
                np.asarray(native.data, np.float32), native_header
            ).writeto(path)
        )
    for path, writer in zip(paths, writers):
        _atomic(path, writer)
    return paths


def write_fields(simulator, n, outdir, progress=True, *, start=0, prefix="field"):
    """Simulate and write ``n`` fields (the ``diffuseradio simulate`` command).

    Parameters
    ----------
    simulator : `~diffuseradio.simulate.field.SkySimulator`
        The simulator.
    n : int
        Number of fields.
    outdir : str or os.PathLike
        Output directory (created if needed).
    progress : bool, optional
        Show a tqdm progress bar.
    start : int, optional
        Index of the first field (fields ``start ... start + n - 1``).
    prefix : str, optional
        File-name prefix; field ``i`` is written as ``{prefix}_{i:05d}.*``.

    Returns
    -------
    list of pathlib.Path
        The stems written.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stems = []
    for index in tqdm(range(start, start + n), desc="simulate", unit="field", disable=not progress):
        stem = outdir / f"{prefix}_{index:05d}"
        write_field(simulator.field(index), stem)
        stems.append(stem)
    return stems


def _atomic(path, writer):
    """Call ``writer(temporary_path)`` then rename the result to ``path``."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    os.unlink(temporary)
    try:
        writer(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
