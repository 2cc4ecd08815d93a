"""Reading radio images: every form an input can take, sorted out in one place.

Radio astronomers have 2-D and degenerate 3-D/4-D FITS images from CASA,
WSClean, AIPS and the LoTSS pipelines, scaled integers, images in extensions,
beams in HISTORY cards and ``mJy/beam`` in many spellings. :func:`read_image`
turns a path, HDU list, HDU, ``(array, WCS)`` pair or NDData into the parts of
a :class:`~diffuseradio.SurveyMosaic`: 2-D data, a celestial WCS, a beam, a
unit and a frequency; the ``as_*`` functions check what is given directly.
"""

import mmap
import os
import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.nddata import NDData
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales
from radio_beam import Beam

from ..exceptions import DiffuseRadioWarning, InvalidImageError, MissingBeamError

__all__ = [
    "JY_PER_BEAM",
    "read_image",
    "as_celestial_wcs",
    "as_2d_image",
    "ABSURD_JY_PER_BEAM",
    "blank_absurd_pixels",
    "as_beam",
    "to_jy_per_beam",
    "parse_unit",
    "has_finite",
    "row_strips",
    "is_memory_mapped",
    "release_pages",
    "beam_text",
    "describe",
]

#: The unit of every :class:`~diffuseradio.SurveyMosaic`.
JY_PER_BEAM = u.Jy / u.beam


def read_image(source, *, hdu=None, beam=None, unit=None):
    """The parts of an image from a file, HDU, ``(array, WCS)`` pair or NDData.

    Parameters
    ----------
    source, hdu, beam, unit
        As :meth:`diffuseradio.SurveyMosaic.read`.

    Returns
    -------
    dict
        ``data`` (2-D, possibly memory-mapped), ``wcs`` (2-D celestial),
        ``beam``, ``unit``, ``frequency`` (or None) and ``meta``: the
        arguments of :class:`~diffuseradio.SurveyMosaic`.

    Raises
    ------
    FileNotFoundError, InvalidImageError, MissingBeamError
        As :meth:`diffuseradio.SurveyMosaic.read`.
    """
    data, header, wcs, source_unit, meta = _unpack_source(source, hdu)
    wcs, data = _squeeze_to_celestial(wcs, data)
    if beam is None:
        beam = _beam_from_header(header, meta.get("path"))
    unit = unit if unit is not None else (source_unit or _unit_from_header(header))
    return {
        "data": data,
        "wcs": wcs,
        "beam": beam,
        "unit": unit,
        "frequency": _frequency(header),
        "meta": meta,
    }


def _mapping(data):
    """The memory map behind an array, or None."""
    while data is not None:
        if isinstance(data, mmap.mmap):
            return data
        data = getattr(data, "base", None)
    return None


def is_memory_mapped(data):
    """Whether an array's memory is a memory-mapped file."""
    return _mapping(data) is not None


def release_pages(data):
    """Let a memory-mapped image's pages go from this process's memory.

    A memory-mapped mosaic read a strip at a time would otherwise stay
    resident page by page (a 9500^2 float64 LoTSS-DR2 mosaic: 720 MB) though
    each strip is needed once. The pages stay in the operating system's file
    cache, so a second read is not a second disk read. Only read-only
    arrays are released (what :meth:`~diffuseradio.SurveyMosaic.read` makes of
    a memory-mapped file): dropping the pages of a private mapping would undo
    writes into it. Anything else is left alone.

    Parameters
    ----------
    data : numpy.ndarray
    """
    mapping = _mapping(data)
    if mapping is not None and not data.flags.writeable and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def row_strips(data, rows=256):
    """Strips of rows of a 2-D image in float32, a memory-mapped one released as it goes.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, possibly memory-mapped (:func:`release_pages`).
    rows : int, optional
        Rows per strip.

    Yields
    ------
    start : int
        The first row of the strip.
    strip : numpy.ndarray
        float32 ``(rows, nx)``; a view of ``data`` when that is float32 in
        memory, so to be read, not modified.
    """
    for start in range(0, data.shape[0], rows):
        strip = np.asarray(data[start : start + rows], dtype=np.float32)
        release_pages(data)
        yield start, strip


def has_finite(data, rows=256):
    """Whether any pixel is finite, reading the image in blocks of rows."""
    return any(np.isfinite(strip).any() for _, strip in row_strips(data, rows))


#: Brighter than any radio source in a beam of any survey (Cas A and Cyg A, the
#: brightest, are ~1e4 Jy in total at low frequencies): such a pixel is a fill
#: value or a corruption, and its round-off would spread through every FFT
#: convolution of the image.
ABSURD_JY_PER_BEAM = 1e5


def blank_absurd_pixels(data, where, rows=256):
    """``data`` with pixels brighter than :data:`ABSURD_JY_PER_BEAM` blanked, with a warning.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image in Jy/beam (possibly memory-mapped: read in blocks of rows,
        copied only when a pixel must be blanked).
    where : str
        How to name the image in the warning.

    Returns
    -------
    numpy.ndarray
        ``data`` itself, or a float32 copy with NaN at the absurd pixels.
    """
    found = []
    for start, strip in row_strips(data, rows):
        with np.errstate(invalid="ignore"):
            ys, xs = np.nonzero(np.abs(strip) > ABSURD_JY_PER_BEAM)
        found.append((ys + start, xs))
    ys = np.concatenate([f[0] for f in found])
    if ys.size == 0:
        return data
    xs = np.concatenate([f[1] for f in found])
    blanked = np.array(data, dtype=np.float32)
    blanked[ys, xs] = np.nan
    warnings.warn(
        f"{ys.size} pixels of {where} are brighter than {ABSURD_JY_PER_BEAM:g} Jy/beam "
        f"(x {xs.min()}-{xs.max()}, y {ys.min()}-{ys.max()}, 0-based), more than any radio "
        "source: they are blanked",
        DiffuseRadioWarning,
        stacklevel=3,
    )
    return blanked


def _unpack_source(source, hdu):
    """Return ``(data, header, wcs, unit, meta)`` from any accepted input."""
    if isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), hdu)
    if isinstance(source, fits.HDUList):
        return _from_hdu(_select_hdu(source, hdu, "HDU list"), {})
    if isinstance(source, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return _from_hdu(source, {})
    if isinstance(source, NDData):
        return _from_nddata(source)
    if isinstance(source, tuple) and len(source) == 2:
        data, wcs_or_header = source
        if isinstance(wcs_or_header, fits.Header):
            return np.asarray(data), wcs_or_header, _wcs(wcs_or_header, "header"), None, {}
        if isinstance(wcs_or_header, WCS):
            return np.asarray(data), wcs_or_header.to_header(), wcs_or_header, None, {}
    raise TypeError(
        "cannot read an image from a "
        f"{type(source).__name__}; give a FITS path, an HDUList, an image HDU, "
        "an (array, WCS or Header) pair or an NDData with a WCS"
    )


def _read_path(path, hdu):
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    meta = {"path": str(path)}
    _check_fits_start(path)
    with warnings.catch_warnings():
        # BLANK in a floating-point image (some FIRST and NVSS cut-outs) means
        # nothing: astropy ignores it, and NaN marks the blanked pixels.
        warnings.filterwarnings("ignore", "Invalid 'BLANK' keyword", VerifyWarning)
        # a truncated file is refused below, in one line
        warnings.filterwarnings("ignore", "File may have been truncated", AstropyUserWarning)
        try:
            hdul = fits.open(path, memmap=True)
        except OSError as err:
            raise InvalidImageError(f"{path} is not a FITS file ({err})") from None
        with hdul:
            selected = _select_hdu(hdul, hdu, str(path))
            if not _scaled(selected.header):
                return _from_hdu(selected, meta)
        # astropy cannot memory-map scaled data (BSCALE/BZERO/BLANK): load it.
        with fits.open(path, memmap=False) as hdul:
            return _from_hdu(_select_hdu(hdul, hdu, str(path)), meta)


def _check_fits_start(path):
    """Refuse a file that does not start with a whole FITS header block.

    Checked before astropy opens it: astropy leaves the file open when it
    fails on a file that is not FITS.
    """
    with open(path, "rb") as handle:
        start = handle.read(2880)
    if not start.startswith(b"SIMPLE  ="):
        raise InvalidImageError(f"{path} is not a FITS file (it does not start with SIMPLE)")
    if len(start) < 2880:
        raise InvalidImageError(
            f"{path} is truncated: {len(start)} bytes, less than one FITS header block (2880)"
        )


def _scaled(header):
    """Whether astropy scales the data (BSCALE, BZERO, or BLANK of an integer image)."""
    blank = "BLANK" in header and header.get("BITPIX", -32) > 0
    return blank or any(key in header for key in ("BSCALE", "BZERO"))


def _select_hdu(hdul, hdu, where):
    if hdu is not None:
        try:
            return hdul[hdu]
        except (KeyError, IndexError):
            names = ", ".join(f"{i}:{h.name}" for i, h in enumerate(hdul))
            raise InvalidImageError(f"{where} has no HDU {hdu!r} (it has {names})") from None
    for candidate in hdul:
        if candidate.is_image and candidate.header.get("NAXIS", 0) >= 2:
            return candidate
    raise InvalidImageError(f"{where} has no image HDU with two or more axes")


def _from_hdu(hdu, meta):
    if not hdu.is_image or hdu.header.get("NAXIS", 0) < 2 or _data(hdu, meta) is None:
        raise InvalidImageError(f"{describe(meta)} HDU {hdu.name!r} holds no image data")
    header = hdu.header
    if "OBJECT" in header:
        meta.setdefault("object", str(header["OBJECT"]).strip())
    return hdu.data, header, _wcs(header, describe(meta)), None, meta


def _data(hdu, meta):
    """An HDU's data; a file too short for what its header describes is refused."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "File may have been truncated", AstropyUserWarning)
        try:
            return hdu.data
        except (ValueError, TypeError, OSError) as err:  # astropy's reshape/buffer errors
            naxis = range(1, hdu.header.get("NAXIS", 0) + 1)
            shape = " x ".join(str(hdu.header.get(f"NAXIS{i}")) for i in naxis)
            raise InvalidImageError(
                f"{describe(meta)} is truncated or corrupt: its data do not fill the {shape} "
                f"pixels its header describes ({err})"
            ) from None


def _from_nddata(nddata):
    if nddata.wcs is None:
        raise InvalidImageError("NDData has no WCS")
    wcs = nddata.wcs if isinstance(nddata.wcs, WCS) else WCS(nddata.wcs.to_header())
    header = fits.Header(nddata.meta.get("header", nddata.meta)) if nddata.meta else fits.Header()
    header.update(wcs.to_header())
    return np.asarray(nddata.data), header, wcs, nddata.unit, {}


def _wcslib_reason(err):
    """wcslib's message without its C function, file and line ("ERROR 4 in wcs_types()
    at line 3190 of file cextern/wcslib/C/wcs.c:")."""
    text = " ".join(str(err).split())
    return re.sub(r"^ERROR \d+ in \w+\(\) at line \d+ of file \S+:\s*", "", text)


def _wcs(header, where):
    with warnings.catch_warnings():
        # Old AIPS/CASA headers trigger harmless "fixed" notices (dates, units).
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            return WCS(header)
        except Exception as err:  # astropy raises several types for bad headers
            raise InvalidImageError(
                f"{where} has an unreadable WCS: {_wcslib_reason(err)}"
            ) from None


def _squeeze_to_celestial(wcs, data):
    """Drop degenerate (length-1) non-celestial axes; refuse real cubes.

    A 2-D image whose WCS describes more axes (FIRST cut-outs and MeerKAT
    images: NAXIS = 2 with frequency and Stokes WCS keywords) keeps the
    celestial part of its WCS, when those are its first two axes.
    """
    if not wcs.has_celestial:
        raise InvalidImageError(
            "the image has no celestial WCS (need RA/Dec or GLON/GLAT axes, "
            f"found CTYPE {list(wcs.wcs.ctype)})"
        )
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    celestial = sorted((wcs.wcs.lng, wcs.wcs.lat))
    if data.ndim == 2 and wcs.naxis > 2 and celestial == [0, 1]:
        return wcs.celestial, data  # the other WCS axes are not in the data
    if data.ndim != wcs.naxis:
        raise InvalidImageError(f"data has {data.ndim} axes but the WCS has {wcs.naxis}")
    index = []
    for fits_axis in range(wcs.naxis - 1, -1, -1):  # numpy order is reversed
        if fits_axis in celestial:
            index.append(slice(None))
            continue
        length = data.shape[wcs.naxis - 1 - fits_axis]
        if length != 1:
            raise InvalidImageError(
                f"the image is a cube: axis {fits_axis + 1} "
                f"({wcs.wcs.ctype[fits_axis] or 'unnamed'}) has {length} planes; "
                "select one plane first"
            )
        index.append(0)
    return wcs.celestial, data[tuple(index)]


def _beam_from_header(header, path):
    where = path or "the header"
    if "BMAJ" in header:
        _check_beam_keywords(header, where)
    try:
        beam = Beam.from_fits_header(header)
    except Exception:  # radio_beam raises NoBeamException and parse errors
        beam = None
    if beam is None or not beam.major > 0:
        raise MissingBeamError(
            f"no restoring beam in {where} (no BMAJ/BMIN/BPA keywords or AIPS "
            "HISTORY beam); pass it explicitly, e.g. beam=6*u.arcsec or "
            "beam=radio_beam.Beam(major, minor, pa)"
        )
    return beam


def _check_beam_keywords(header, where):
    """Refuse beam keywords that are there but cannot be a beam."""
    try:
        major, minor = float(header["BMAJ"]), float(header.get("BMIN", header["BMAJ"]))
    except (TypeError, ValueError):
        raise InvalidImageError(
            f"the beam keywords of {where} are not numbers: BMAJ = {header['BMAJ']!r}, "
            f"BMIN = {header.get('BMIN')!r}"
        ) from None
    if not (np.isfinite(major) and np.isfinite(minor) and major > 0 and minor > 0):
        raise InvalidImageError(
            f"the beam of {where} is not a beam: BMAJ = {major:g}, BMIN = {minor:g} deg "
            "(both must be positive); fix the header, or pass the beam (beam=...)"
        )
    if minor > major * (1 + 1e-6):
        raise InvalidImageError(
            f"the beam of {where} has BMIN ({minor:g} deg) larger than BMAJ ({major:g} deg); "
            "fix the header, or pass the beam (beam=...)"
        )


def _unit_from_header(header):
    text = str(header.get("BUNIT", "")).strip()
    if not text:
        warnings.warn("no BUNIT in the header; assuming Jy/beam", DiffuseRadioWarning, stacklevel=4)
        return JY_PER_BEAM
    return parse_unit(text)


def parse_unit(text):
    """Parse the many spellings of Jy/beam found in radio FITS headers."""
    cleaned = text.strip().lower().replace("jansky", "jy").replace(" ", "")
    for per_beam in ("/beam", "beam-1", "beam^-1", "/bm", "/b"):
        if cleaned.endswith(per_beam):
            prefix = cleaned[: -len(per_beam)]
            if prefix in ("jy", "mjy", "ujy", "µjy", "njy", "kjy"):
                scale = {"jy": "Jy", "mjy": "mJy", "ujy": "uJy", "µjy": "uJy"}
                return u.Unit(scale.get(prefix, prefix[0] + "Jy")) / u.beam
    unit = u.Unit(text, format="fits", parse_strict="silent")
    if isinstance(unit, u.UnrecognizedUnit):
        unit = u.Unit(text, parse_strict="silent")
    return unit


def to_jy_per_beam(data, unit, beam):
    """``data`` in ``unit`` converted to Jy/beam (floating point; integers become float64)."""
    unit = parse_unit(unit) if isinstance(unit, str) else u.Unit(unit)
    try:
        scale = unit.to(JY_PER_BEAM, equivalencies=u.beam_angular_area(beam.sr))
    except (u.UnitsError, ValueError):
        raise InvalidImageError(
            f"pixel unit {unit.to_string()!r} is not a surface brightness "
            "(expected Jy/beam, mJy/beam, Jy/sr, ...)"
        ) from None
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    if scale != 1:
        data = data * data.dtype.type(scale)
    return data


def _frequency(header):
    for index in range(1, header.get("NAXIS", 0) + 1):
        if str(header.get(f"CTYPE{index}", "")).upper().startswith("FREQ"):
            unit = u.Unit(header.get(f"CUNIT{index}", "Hz") or "Hz")
            value = header.get(f"CRVAL{index}", 0.0) + (
                1 - header.get(f"CRPIX{index}", 1.0)
            ) * header.get(f"CDELT{index}", 0.0)
            return (value * unit).to(u.Hz)
    for key in ("RESTFRQ", "RESTFREQ", "FREQ"):
        if key in header:
            return header[key] * u.Hz
    return None


def as_celestial_wcs(wcs):
    """A copy of a 2-D celestial WCS, from a WCS or a FITS header; refuse anything else."""
    if isinstance(wcs, fits.Header):
        wcs = _wcs(wcs, "header")
    if not isinstance(wcs, WCS):
        raise TypeError(f"wcs must be an astropy WCS or Header, not {type(wcs).__name__}")
    if not wcs.has_celestial or wcs.naxis != 2:
        raise InvalidImageError(
            f"need a 2-D celestial WCS, got {wcs.naxis} axes {list(wcs.wcs.ctype)}"
        )
    scales = proj_plane_pixel_scales(wcs) * 3600
    if abs(scales[0] / scales[1] - 1) > 0.01:
        raise InvalidImageError(
            f'the pixels are {scales[0]:.4g}"x{scales[1]:.4g}", not square: beams and '
            "flux densities are measured on square pixels; resample the image onto square "
            "pixels first (e.g. with reproject)"
        )
    return wcs.deepcopy()


def as_2d_image(data):
    """``data`` as a numeric 2-D array of at least 2x2 pixels; refuse anything else."""
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    if data.ndim != 2:
        raise InvalidImageError(f"image data must be 2-D, got shape {data.shape}")
    if min(data.shape) < 2:
        raise InvalidImageError(f"image of shape {data.shape} is too small")
    if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
        raise InvalidImageError(f"image data must be numeric, got {data.dtype}")
    return data


def as_beam(beam):
    """A :class:`radio_beam.Beam`, from a Beam or the FWHM of a circular one."""
    if isinstance(beam, Beam):
        return beam
    if isinstance(beam, u.Quantity) and beam.unit.physical_type == "angle" and beam.isscalar:
        return Beam(major=beam, minor=beam, pa=0 * u.deg)
    raise TypeError(f"beam must be a radio_beam.Beam or an angle, not {beam!r}")


def beam_text(beam):
    """A beam as ``major"xminor"`` for messages."""
    return f'{beam.major.to_value(u.arcsec):.3g}"x{beam.minor.to_value(u.arcsec):.3g}"'


def describe(meta):
    """How to name an image in a message: its path, or "the image"."""
    return meta.get("path", "the image")
