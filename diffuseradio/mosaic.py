"""Survey mosaics: 2-D celestial radio images with their beam and noise.

:class:`SurveyMosaic` is the one object the rest of the package reads images
through. It sorts out what radio astronomers actually have (2-D and
degenerate 3-D/4-D FITS images from CASA, WSClean, AIPS and the LoTSS
pipelines, scaled integers, images in extensions, beams in HISTORY cards,
``mJy/beam`` and its spelling variants) into a 2-D surface-brightness map in
Jy/beam with a celestial WCS and a :class:`radio_beam.Beam`.
"""

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import Cutout2D, NDData, NoOverlapError
from astropy.stats import sigma_clipped_stats
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_area
from radio_beam import Beam
from radio_beam.utils import BeamError

from .exceptions import IncompatibleResolutionError, InvalidImageError, MissingBeamError
from .sampling import bilinear_sample
from .tiling import tile_slices
from .utils import atomic_write

__all__ = ["SurveyMosaic", "Tile", "DiffuseRadioWarning"]

log = logging.getLogger(__name__)

JY_PER_BEAM = u.Jy / u.beam

#: Pixels sampled at most for the global noise estimate (a regular stride).
_RMS_MAX_SAMPLES = 4_000_000


class DiffuseRadioWarning(AstropyUserWarning):
    """Something was assumed about an input image; the message says what."""


@dataclass(frozen=True)
class Tile:
    """One tile of a :class:`SurveyMosaic`.

    Attributes
    ----------
    data : numpy.ndarray
        The tile's pixels (a view into the parent where possible).
    wcs : astropy.wcs.WCS
        The tile's own celestial WCS: pixel ``(0, 0)`` of the tile is pixel
        ``(slices[1].start, slices[0].start)`` of the parent.
    slices : tuple of slice
        ``(slice_y, slice_x)`` into the parent array.
    """

    data: np.ndarray
    wcs: WCS
    slices: tuple


class SurveyMosaic:
    """A 2-D radio image in Jy/beam with a celestial WCS and a restoring beam.

    Parameters
    ----------
    data : array_like
        2-D image; NaN marks blanked pixels. Memory-mapped arrays are kept
        as they are (not copied).
    wcs : `~astropy.wcs.WCS` or `~astropy.io.fits.Header`
        2-D celestial WCS of ``data``.
    beam : `radio_beam.Beam` or `~astropy.units.Quantity`
        Restoring beam; an angle is taken as the FWHM of a circular beam.
    unit : `~astropy.units.Unit` or str, optional
        Unit of ``data``; any surface-brightness unit (``mJy/beam``,
        ``Jy/sr``, ...) is converted to Jy/beam. Default Jy/beam.
    frequency : `~astropy.units.Quantity`, optional
        Observing frequency.
    meta : dict, optional
        Free-form metadata (e.g. ``path``, ``object``).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    >>> wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    >>> wcs.wcs.crval = [207.15, 55.19]
    >>> wcs.wcs.crpix = [50.5, 50.5]
    >>> mosaic = SurveyMosaic(np.zeros((100, 100)), wcs, beam=6 * u.arcsec)
    >>> mosaic.pixel_scale.to(u.arcsec).round(3)
    <Quantity 1.5 arcsec>
    >>> round(mosaic.beam_area_pixels, 2)
    18.13
    """

    def __init__(self, data, wcs, *, beam, unit=JY_PER_BEAM, frequency=None, meta=None):
        self.wcs = _celestial_wcs(wcs)
        self.beam = _as_beam(beam)
        data = _as_2d_image(data)
        if data.shape[::-1] != tuple(self.wcs.pixel_shape or data.shape[::-1]):
            raise InvalidImageError(
                f"data shape {data.shape} does not match the WCS pixel shape "
                f"{self.wcs.pixel_shape[::-1]}"
            )
        self.wcs.pixel_shape = data.shape[::-1]
        self.data = _to_jy_per_beam(data, unit, self.beam)
        self.frequency = None if frequency is None else u.Quantity(frequency, u.Hz)
        if self.frequency is not None:
            # Continuum images record their frequency as RESTFRQ (LoTSS does).
            self.wcs.wcs.restfrq = self.frequency.to_value(u.Hz)
        self.meta = dict(meta or {})
        self._rms = None

    # ------------------------------------------------------------------ I/O

    @classmethod
    def read(cls, source, *, hdu=None, beam=None, unit=None):
        """Read an image from a file, HDU, ``(array, WCS)`` pair or NDData.

        Parameters
        ----------
        source : path, `~astropy.io.fits.HDUList`, HDU, tuple or `~astropy.nddata.NDData`
            A FITS file path; an open HDU list; a ``PrimaryHDU``/``ImageHDU``;
            an ``(array, WCS)`` or ``(array, Header)`` pair; or an
            ``NDData``/``CCDData`` with a WCS.
        hdu : int or str, optional
            HDU index or name in a file or HDU list. By default the first HDU
            with image data.
        beam : `radio_beam.Beam` or `~astropy.units.Quantity`, optional
            Restoring beam, for images whose header has none (BMAJ/BMIN/BPA
            keywords and AIPS ``HISTORY ... BMAJ=`` cards are read otherwise).
            When given it takes precedence over the header.
        unit : `~astropy.units.Unit` or str, optional
            Unit of the pixel values, taking precedence over ``BUNIT``.

        Returns
        -------
        SurveyMosaic

        Raises
        ------
        FileNotFoundError
            If a path does not exist.
        InvalidImageError
            If the input is not a FITS image, holds no image data, is a cube
            with more than one plane, has no celestial WCS, is entirely
            blanked, or its unit is not a surface brightness.
        MissingBeamError
            If no beam is found and ``beam`` is not given.
        """
        data, header, wcs, source_unit, meta = _unpack_source(source, hdu)
        wcs, data = _squeeze_to_celestial(wcs, data)
        if beam is None:
            beam = _beam_from_header(header, meta.get("path"))
        unit = unit if unit is not None else (source_unit or _unit_from_header(header))
        mosaic = cls(data, wcs, beam=beam, unit=unit, frequency=_frequency(header), meta=meta)
        if not _has_finite(mosaic.data):
            raise InvalidImageError(f"{_describe(meta)} is entirely blanked (all NaN)")
        return mosaic

    def write(self, path, *, overwrite=False):
        """Write a 2-D FITS image with beam, unit and frequency keywords.

        The file is written under a temporary name and renamed, so an
        interrupted write leaves no partial file. :meth:`read` reads it back
        to identical data, WCS and beam.

        Parameters
        ----------
        path : str or os.PathLike
            Output file.
        overwrite : bool, optional
            Replace an existing file.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; use overwrite=True to replace it")
        hdu = fits.PrimaryHDU(data=np.asarray(self.data), header=self.header)
        atomic_write(path, lambda temporary: hdu.writeto(temporary, overwrite=True))

    @property
    def header(self):
        """A FITS header: WCS, BMAJ/BMIN/BPA (deg), BUNIT and RESTFRQ."""
        header = self.wcs.to_header()
        header.update(self.beam.to_header_keywords())
        header["BUNIT"] = ("JY/BEAM", "surface brightness unit")
        return header

    # ---------------------------------------------------------- geometry

    @property
    def unit(self):
        """Unit of :attr:`data`: always Jy/beam."""
        return JY_PER_BEAM

    @property
    def shape(self):
        """``(ny, nx)`` of the image."""
        return self.data.shape

    @property
    def pixel_scale(self):
        """Side of one pixel (square root of the pixel solid angle), arcsec."""
        return (np.sqrt(proj_plane_pixel_area(self.wcs)) * u.deg).to(u.arcsec)

    @property
    def beam_area_pixels(self):
        """Beam solid angle in pixels: divide Jy/beam by it to get Jy/pixel."""
        return float(self.beam.sr / self.pixel_scale**2)

    def __repr__(self):
        centre = self.wcs.pixel_to_world((self.shape[1] - 1) / 2, (self.shape[0] - 1) / 2)
        return (
            f"<SurveyMosaic {self.shape[0]}x{self.shape[1]} pixels of "
            f"{self.pixel_scale.to_value(u.arcsec):.3g} arcsec, beam "
            f"{self.beam.major.to_value(u.arcsec):.3g}x"
            f"{self.beam.minor.to_value(u.arcsec):.3g} arcsec, centre "
            f"{centre.to_string('hmsdms', precision=1)}>"
        )

    # -------------------------------------------------------------- noise

    @property
    def rms(self):
        """Robust global noise level (Jy/beam).

        Sigma-clipped (3 sigma, 5 iterations) median absolute deviation of
        the unblanked pixels, scaled to a Gaussian standard deviation. A
        constant fill value (zeros outside the primary beam, say) is left
        out. Images larger than 4 million pixels are sampled on a regular
        stride.
        """
        if self._rms is None:
            self._rms = _robust_rms(self.data) * JY_PER_BEAM
        return self._rms

    def rms_map(self, box=None, *, filter_size=3):
        """Local noise on a mesh of boxes, interpolated back to every pixel.

        Uses :class:`photutils.background.Background2D` with sigma-clipped
        MAD statistics per box (as PyBDSF's ``rms_box``), a median filter over
        ``filter_size`` boxes, and bicubic interpolation. Blanked pixels are
        masked and stay NaN. When no box is at least 10 % unblanked (heavily
        blanked images), the map is the global :attr:`rms`.

        Parameters
        ----------
        box : int or `~astropy.units.Quantity`, optional
            Box side in pixels or as an angle. Default: 30 beams across
            (``30 * beam.major``), at least 16 pixels.
        filter_size : int, optional
            Median-filter size in boxes.

        Returns
        -------
        `~astropy.units.Quantity`
            float32 map in Jy/beam with the image's shape.
        """
        from photutils.background import Background2D, MADStdBackgroundRMS

        box_pixels = min(self._box_pixels(box), *self.shape)
        blank = ~np.isfinite(self.data)
        background = None
        # Heavily blanked images (thresholded or mosaic-edge cut-outs) may have
        # no box that is half unblanked: accept emptier boxes before giving up.
        for exclude_percentile in (50.0, 90.0):
            try:
                with warnings.catch_warnings():
                    # Boxes that are mostly blanked are excluded on purpose.
                    warnings.filterwarnings("ignore", category=AstropyUserWarning)
                    background = Background2D(
                        self.data,
                        box_pixels,
                        coverage_mask=blank,
                        fill_value=np.nan,
                        filter_size=filter_size,
                        bkg_rms_estimator=MADStdBackgroundRMS(),
                        exclude_percentile=exclude_percentile,
                    )
                break
            except ValueError:
                continue
        if background is None:
            log.info("too few unblanked pixels for a noise map; using the global rms")
            rms = np.full(self.shape, self.rms.to_value(JY_PER_BEAM), dtype=np.float32)
            rms[blank] = np.nan
            return rms * JY_PER_BEAM
        return background.background_rms.astype(np.float32) * JY_PER_BEAM

    # ---------------------------------------------------------------- tiles

    def tiles(self, size, overlap=0):
        """Iterate over overlapping tiles covering the image.

        Edge tiles are shifted inwards so they stay inside the image (never
        padded); an image smaller than ``size`` is one tile. Tiles whose
        pixels are all blanked are skipped.

        Parameters
        ----------
        size : int or `~astropy.units.Quantity`
            Tile side in pixels or as an angle.
        overlap : int or `~astropy.units.Quantity`, optional
            Overlap between neighbouring tiles, pixels or an angle.

        Yields
        ------
        Tile
        """
        size = self._to_pixels(size, "tile size")
        overlap = self._to_pixels(overlap, "tile overlap")
        for slices in tile_slices(self.shape, size, overlap):
            data = self.data[slices]
            if np.isnan(data).all():
                continue
            yield Tile(data=data, wcs=self.wcs[slices], slices=slices)

    # ------------------------------------------------------- sub-images

    def cutout(self, position, size):
        """A cut-out centred on a sky position.

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord`
            Centre of the cut-out.
        size : `~astropy.units.Quantity` or int
            Angular side (or ``(ny, nx)`` angles), or pixels.

        Returns
        -------
        SurveyMosaic
            Parts outside the image are blanked (NaN).

        Raises
        ------
        ValueError
            If the cut-out does not overlap the image.
        """
        try:
            cut = Cutout2D(
                self.data,
                position,
                size,
                wcs=self.wcs,
                mode="partial",
                fill_value=np.nan,
                copy=True,
            )
        except (NoOverlapError, ValueError):
            # ValueError: the position has no pixel coordinates (far side of
            # the projection).
            raise ValueError(
                f"cut-out at {position.to_string('hmsdms')} does not overlap the image"
            ) from None
        return self._derived(cut.data, cut.wcs)

    def convolve_to(self, beam):
        """Convolve to a larger beam, conserving integrated flux densities.

        The convolution kernel is the target beam deconvolved by the current
        one (:meth:`radio_beam.Beam.deconvolve`). Blanked pixels are ignored
        (normalised convolution) and stay blanked. Values are rescaled by the
        ratio of beam areas, so Jy/beam refers to the new beam and integrated
        flux densities are unchanged.

        Parameters
        ----------
        beam : `radio_beam.Beam` or `~astropy.units.Quantity`
            Target beam; an angle means a circular beam of that FWHM.

        Returns
        -------
        SurveyMosaic

        Raises
        ------
        IncompatibleResolutionError
            If the target beam is smaller than the current one in any
            direction.
        """
        target = _as_beam(beam)
        if target == self.beam:
            return self._derived(np.array(self.data), self.wcs, beam=target)
        smoothed = _normalised_convolution(self.data, self._kernel_to(target))
        smoothed *= float(target.sr / self.beam.sr)
        return self._derived(smoothed, self.wcs, beam=target)

    def _kernel_to(self, target):
        """Normalised pixel kernel taking this image's beam to ``target``."""
        try:
            kernel_beam = target.deconvolve(self.beam)
        except (BeamError, ValueError) as err:
            raise IncompatibleResolutionError(
                f"cannot convolve the {_beam_text(self.beam)} beam to the smaller "
                f"{_beam_text(target)} beam: {err}"
            ) from None
        kernel = kernel_beam.as_kernel(self.pixel_scale).array
        return kernel / kernel.sum()

    def resample(self, pixel_scale):
        """Resample to another pixel scale, conserving surface brightness.

        The new grid has the same projection and covers the same sky; values
        are interpolated bilinearly with :func:`reproject.reproject_interp`
        (Jy/beam is a surface brightness, so no flux rescaling is needed).

        Parameters
        ----------
        pixel_scale : `~astropy.units.Quantity`
            New pixel side.

        Returns
        -------
        SurveyMosaic

        Raises
        ------
        IncompatibleResolutionError
            If the new pixels would undersample the beam (more than half the
            beam's minor axis).
        """
        from reproject import reproject_interp

        pixel_scale = u.Quantity(pixel_scale, u.arcsec)
        _check_sampling(pixel_scale, self.beam)
        wcs, shape = _scaled_grid(self.wcs, self.shape, float(pixel_scale / self.pixel_scale))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            data, _ = reproject_interp(
                (self.data, self.wcs), wcs, shape_out=shape, order="bilinear"
            )
        return self._derived(data.astype(self.data.dtype, copy=False), wcs)

    def smooth_and_resample(self, beam=None, pixel_scale=None, *, block_rows=128):
        """``convolve_to(beam)`` then ``resample(pixel_scale)``, streamed in strips.

        The result is that of the two steps (flux densities and surface
        brightness conserved as there), but the image is read and convolved
        a strip of rows at a time and sampled straight onto the coarser grid,
        so a 10k x 10k memory-mapped mosaic is never held, or copied, at full
        resolution. The strips are convolved in float32 (the rounding error of
        the FFTs is a few per cent of the noise next to a 10 Jy/beam source
        and far less elsewhere) with PyTorch's number of threads
        (``torch.set_num_threads``, ``OMP_NUM_THREADS``). The new grid has the
        same projection and covers the same sky; since only the pixel scale
        changes, the map between the two grids is affine and the bilinear
        sampling separates into rows and columns
        (:func:`~diffuseradio.sampling.bilinear_sample`).

        Parameters
        ----------
        beam : `radio_beam.Beam` or `~astropy.units.Quantity`, optional
            Target beam (default: keep the beam).
        pixel_scale : `~astropy.units.Quantity`, optional
            Target pixel side (default: keep the pixel scale).
        block_rows : int, optional
            Output rows per strip.

        Returns
        -------
        SurveyMosaic
            float32 data.
        """
        target = self.beam if beam is None else _as_beam(beam)
        pixel_scale = self.pixel_scale if pixel_scale is None else u.Quantity(pixel_scale, u.arcsec)
        _check_sampling(pixel_scale, target)
        convolve = target != self.beam
        kernel = self._kernel_to(target) if convolve else None
        margin = kernel.shape[0] // 2 + 1 if convolve else 0
        factor = float(pixel_scale / self.pixel_scale)
        wcs, shape = _scaled_grid(self.wcs, self.shape, factor)
        out = np.empty(shape, dtype=np.float32)
        columns = (np.arange(shape[1]) + 0.5) * factor - 0.5
        scale = float(target.sr / self.beam.sr)
        for start in range(0, shape[0], block_rows):
            rows = (np.arange(start, min(start + block_rows, shape[0])) + 0.5) * factor - 0.5
            low = min(max(int(np.floor(rows[0])) - margin, 0), self.shape[0] - 1)
            high = min(int(np.ceil(rows[-1])) + 2 + margin, self.shape[0])
            block = np.asarray(self.data[low:high], dtype=np.float32)
            if convolve:
                block = _normalised_convolution(block, kernel) * scale
            out[start : start + rows.size] = bilinear_sample(block, rows - low, columns)
        # Pixel centres beyond the outer edge of the input image have no data.
        edge = 0.5 - 1e-6  # tolerate rounding on the outer pixel edge
        out[(np.arange(shape[0]) + 0.5) * factor - 0.5 > self.shape[0] - edge] = np.nan
        out[:, columns > self.shape[1] - edge] = np.nan
        return self._derived(out, wcs, beam=target)

    # ---------------------------------------------------------- helpers

    def _derived(self, data, wcs, *, beam=None):
        return SurveyMosaic(
            data,
            wcs,
            beam=self.beam if beam is None else beam,
            frequency=self.frequency,
            meta=self.meta,
        )

    def _to_pixels(self, value, what):
        if isinstance(value, u.Quantity):
            value = (value / self.pixel_scale).to_value(u.dimensionless_unscaled)
            return int(round(value))
        if int(value) != value:
            raise TypeError(f"{what} must be a whole number of pixels or an angle")
        return int(value)

    def _box_pixels(self, box):
        if box is None:
            return max(16, self._to_pixels(30 * self.beam.major, "box"))
        return self._to_pixels(box, "box")


# ====================================================================
# Reading: everything an input can be is sorted out here, in one place.


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
    try:
        hdul = fits.open(path, memmap=True)
    except OSError as err:
        raise InvalidImageError(f"{path} is not a FITS file ({err})") from None
    with hdul:
        selected = _select_hdu(hdul, hdu, str(path))
        if not _scaled(selected.header):
            return _from_hdu(selected, meta)
    # astropy cannot memory-map scaled integers (BSCALE/BZERO/BLANK): load them.
    with fits.open(path, memmap=False) as hdul:
        return _from_hdu(_select_hdu(hdul, hdu, str(path)), meta)


def _scaled(header):
    return any(key in header for key in ("BSCALE", "BZERO", "BLANK"))


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
    if not hdu.is_image or hdu.header.get("NAXIS", 0) < 2 or hdu.data is None:
        raise InvalidImageError(f"{_describe(meta)} HDU {hdu.name!r} holds no image data")
    header = hdu.header
    if "OBJECT" in header:
        meta.setdefault("object", str(header["OBJECT"]).strip())
    return hdu.data, header, _wcs(header, _describe(meta)), None, meta


def _from_nddata(nddata):
    if nddata.wcs is None:
        raise InvalidImageError("NDData has no WCS")
    wcs = nddata.wcs if isinstance(nddata.wcs, WCS) else WCS(nddata.wcs.to_header())
    header = fits.Header(nddata.meta.get("header", nddata.meta)) if nddata.meta else fits.Header()
    header.update(wcs.to_header())
    return np.asarray(nddata.data), header, wcs, nddata.unit, {}


def _wcs(header, where):
    with warnings.catch_warnings():
        # Old AIPS/CASA headers trigger harmless "fixed" notices (dates, units).
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            return WCS(header)
        except Exception as err:  # astropy raises several types for bad headers
            raise InvalidImageError(f"{where} has an unreadable WCS: {err}") from None


def _squeeze_to_celestial(wcs, data):
    """Drop degenerate (length-1) non-celestial axes; refuse real cubes."""
    if not wcs.has_celestial:
        raise InvalidImageError(
            "the image has no celestial WCS (need RA/Dec or GLON/GLAT axes, "
            f"found CTYPE {list(wcs.wcs.ctype)})"
        )
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    if data.ndim != wcs.naxis:
        raise InvalidImageError(f"data has {data.ndim} axes but the WCS has {wcs.naxis}")
    celestial = sorted((wcs.wcs.lng, wcs.wcs.lat))
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
    try:
        beam = Beam.from_fits_header(header)
    except Exception:  # radio_beam raises NoBeamException and parse errors
        beam = None
    if beam is None or not beam.major > 0:
        where = path or "the header"
        raise MissingBeamError(
            f"no restoring beam in {where} (no BMAJ/BMIN/BPA keywords or AIPS "
            "HISTORY beam); pass it explicitly, e.g. beam=6*u.arcsec or "
            "beam=radio_beam.Beam(major, minor, pa)"
        )
    return beam


def _unit_from_header(header):
    text = str(header.get("BUNIT", "")).strip()
    if not text:
        warnings.warn("no BUNIT in the header; assuming Jy/beam", DiffuseRadioWarning, stacklevel=4)
        return JY_PER_BEAM
    return _parse_unit(text)


def _parse_unit(text):
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


def _to_jy_per_beam(data, unit, beam):
    unit = _parse_unit(unit) if isinstance(unit, str) else u.Unit(unit)
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


def _celestial_wcs(wcs):
    if isinstance(wcs, fits.Header):
        wcs = _wcs(wcs, "header")
    if not isinstance(wcs, WCS):
        raise TypeError(f"wcs must be an astropy WCS or Header, not {type(wcs).__name__}")
    if not wcs.has_celestial or wcs.naxis != 2:
        raise InvalidImageError(
            f"need a 2-D celestial WCS, got {wcs.naxis} axes {list(wcs.wcs.ctype)}"
        )
    return wcs.deepcopy()


def _as_2d_image(data):
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    if data.ndim != 2:
        raise InvalidImageError(f"image data must be 2-D, got shape {data.shape}")
    if min(data.shape) < 2:
        raise InvalidImageError(f"image of shape {data.shape} is too small")
    if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
        raise InvalidImageError(f"image data must be numeric, got {data.dtype}")
    return data


def _as_beam(beam):
    if isinstance(beam, Beam):
        return beam
    if isinstance(beam, u.Quantity) and beam.unit.physical_type == "angle" and beam.isscalar:
        return Beam(major=beam, minor=beam, pa=0 * u.deg)
    raise TypeError(f"beam must be a radio_beam.Beam or an angle, not {beam!r}")


def _beam_text(beam):
    return f'{beam.major.to_value(u.arcsec):.3g}"x{beam.minor.to_value(u.arcsec):.3g}"'


def _describe(meta):
    return meta.get("path", "the image")


def _has_finite(data, rows=256):
    """Whether any pixel is finite, reading the image in blocks of rows."""
    return any(
        np.isfinite(data[start : start + rows]).any() for start in range(0, data.shape[0], rows)
    )


def _robust_rms(data):
    stride = max(1, int(np.ceil(np.sqrt(data.size / _RMS_MAX_SAMPLES))))
    sample = np.asarray(data[::stride, ::stride], dtype=np.float64)
    sample = sample[np.isfinite(sample)]
    sample = _drop_fill_value(sample)
    if sample.size == 0:
        return np.nan
    _, _, std = sigma_clipped_stats(sample, sigma=3.0, maxiters=5, stdfunc="mad_std")
    return float(std)


def _drop_fill_value(sample, max_fraction=0.01):
    """Drop a constant fill value (zeros outside coverage, quantised blanks).

    Real noise never repeats one value in more than ``max_fraction`` of the
    pixels; a value that does marks pixels without data.
    """
    values, counts = np.unique(sample, return_counts=True)
    if counts.size and counts.max() > max_fraction * sample.size:
        return sample[sample != values[counts.argmax()]]
    return sample


def _fft_threads():
    """Threads for the FFTs: PyTorch's intra-op thread count, so that one
    setting (``torch.set_num_threads``, ``OMP_NUM_THREADS``, a survey
    worker's ``threads_per_worker``) governs all the number crunching."""
    import torch

    return torch.get_num_threads()


def _normalised_convolution(data, kernel):
    """Convolve ignoring NaNs and the image edges; NaNs stay NaN."""
    from scipy.fft import set_workers
    from scipy.signal import oaconvolve

    dtype = np.result_type(data.dtype, np.float32)
    blank = ~np.isfinite(data)
    filled = np.where(blank, 0, data).astype(dtype, copy=False)
    kernel = kernel.astype(dtype)
    with set_workers(_fft_threads()):
        smoothed = oaconvolve(filled, kernel, mode="same")
        # Dividing by the kernel weight that fell on data keeps surface
        # brightness right next to blanked regions and the image edges.
        coverage = oaconvolve((~blank).astype(dtype), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed /= coverage
    smoothed[blank] = np.nan
    return smoothed


def _check_sampling(pixel_scale, beam):
    if pixel_scale > beam.minor / 2:
        raise IncompatibleResolutionError(
            f"{pixel_scale:.3g} pixels would undersample the "
            f"{_beam_text(beam)} beam; convolve_to a beam of at least "
            f"{2 * pixel_scale.to(u.arcsec):.3g} first"
        )


def _scaled_grid(wcs, shape, factor):
    """A WCS and shape covering the same sky with pixels ``factor`` times larger."""
    new = wcs.deepcopy()
    if new.wcs.has_cd():
        new.wcs.cd = new.wcs.cd * factor
    else:
        new.wcs.cdelt = new.wcs.cdelt * factor
    # Pixel edges stay put: FITS pixel p covers p-0.5..p+0.5 (1-based).
    new.wcs.crpix = (new.wcs.crpix - 0.5) / factor + 0.5
    # Rounded first, so that a factor such as 1/3 gives exactly 3 n pixels.
    new_shape = tuple(int(np.ceil(round(n / factor, 6))) for n in shape)
    new.pixel_shape = new_shape[::-1]
    new.wcs.set()
    return new, new_shape
