"""Survey mosaics: 2-D celestial radio images with their beam and noise.

:class:`SurveyMosaic` is the one object the rest of the package reads images
through: a 2-D surface-brightness map in Jy/beam with a celestial WCS and a
:class:`radio_beam.Beam`. What an input can be is sorted out in
:mod:`~diffuseradio.mosaic.reading`, the noise in
:mod:`~diffuseradio.mosaic.noise`, the regridding in
:mod:`~diffuseradio.mosaic.regrid` and the tiling in
:mod:`~diffuseradio.mosaic.tiling`; the methods here are thin.
"""

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import Cutout2D, NoOverlapError
from astropy.wcs import WCS

from ..atomic import atomic_write
from ..exceptions import InvalidImageError, MissingBeamError
from . import noise, regrid
from .reading import (
    JY_PER_BEAM,
    as_2d_image,
    as_beam,
    as_celestial_wcs,
    beam_text,
    blank_absurd_pixels,
    describe,
    has_finite,
    is_memory_mapped,
    read_image,
    to_jy_per_beam,
)
from .tiling import tile_slices

__all__ = ["SurveyMosaic", "Tile", "read_with_beam"]


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
        self.wcs = as_celestial_wcs(wcs)
        self.beam = as_beam(beam)
        data = as_2d_image(data)
        if data.shape[::-1] != tuple(self.wcs.pixel_shape or data.shape[::-1]):
            raise InvalidImageError(
                f"data shape {data.shape} does not match the WCS pixel shape "
                f"{self.wcs.pixel_shape[::-1]}"
            )
        self.wcs.pixel_shape = data.shape[::-1]
        self.data = to_jy_per_beam(data, unit, self.beam)
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
            blanked or constant, or its unit is not a surface brightness.

        Warns
        -----
        DiffuseRadioWarning
            When pixels brighter than
            ``ABSURD_JY_PER_BEAM`` (fill
            values, corruption) are blanked.
        MissingBeamError
            If no beam is found and ``beam`` is not given.
        """
        mosaic = cls(**read_image(source, hdu=hdu, beam=beam, unit=unit))
        if is_memory_mapped(mosaic.data):
            # read, never written: its pages can be let go strip by strip
            mosaic.data.flags.writeable = False
        where = describe(mosaic.meta)
        if not has_finite(mosaic.data):
            raise InvalidImageError(f"{where} is entirely blanked (all NaN)")
        mosaic.data = blank_absurd_pixels(mosaic.data, where)
        if not mosaic.rms > 0 * JY_PER_BEAM:
            raise InvalidImageError(
                f"{where} holds no noise (its unblanked pixels are one constant value): "
                "nothing can be detected in it"
            )
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
        """Unit of ``data``: always Jy/beam."""
        return JY_PER_BEAM

    @property
    def shape(self):
        """``(ny, nx)`` of the image."""
        return self.data.shape

    @property
    def pixel_scale(self):
        """Side of one pixel (square root of the pixel solid angle), arcsec."""
        # the WCS is 2-D and celestial, in degrees (as_celestial_wcs): its pixel
        # scale matrix is proj_plane_pixel_area's, without the checks (measured
        # per detection, this is called thousands of times on a mosaic)
        area = abs(np.linalg.det(self.wcs.pixel_scale_matrix))
        return u.Quantity(np.sqrt(area) * 3600.0, u.arcsec)

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
            self._rms = noise.image_rms(self.data) * JY_PER_BEAM
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
        rms = noise.rms_map(
            self.data,
            self._box_pixels(box),
            filter_size=filter_size,
            global_rms=self.rms.to_value(JY_PER_BEAM),
        )
        return rms * JY_PER_BEAM

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
        return self.derived(cut.data, cut.wcs)

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
            Target beam; an angle means a circular beam of that FWHM. A target
            whose major axis is (nearly) this image's own is reached a few per
            cent larger (``reachable_beam``):
            the result's ``beam`` says which.

        Returns
        -------
        SurveyMosaic

        Raises
        ------
        IncompatibleResolutionError
            If the target beam is smaller than the current one in any
            direction.
        """
        target = as_beam(beam)
        if target == self.beam:
            return self.derived(np.array(self.data), self.wcs, beam=target)
        target = regrid.reachable_beam(self.beam, target, self.pixel_scale)
        kernel = regrid.beam_kernel(
            self.beam, target, self.pixel_scale, north=regrid.grid_north(self.wcs)
        )
        smoothed = regrid.normalised_convolution(self.data, kernel)
        smoothed *= float(target.sr / self.beam.sr)
        return self.derived(smoothed, self.wcs, beam=target)

    def resample(self, pixel_scale):
        """Resample to another pixel scale, conserving surface brightness.

        The new grid has the same projection and covers the same sky; values
        are interpolated bilinearly (Jy/beam is a surface brightness, so no
        flux rescaling is needed): :meth:`smooth_and_resample` without
        convolution. Inside the image the values are those of
        :func:`reproject.reproject_interp` (bilinear) to float32 rounding; new
        pixels whose centres lie between the last input pixel centre and the
        image's outer edge take the edge values (reproject blanks them).

        Parameters
        ----------
        pixel_scale : `~astropy.units.Quantity`
            New pixel side.

        Returns
        -------
        SurveyMosaic
            float32 data.

        Raises
        ------
        IncompatibleResolutionError
            If the new pixels would undersample the beam (more than half the
            beam's minor axis).
        """
        return self.smooth_and_resample(pixel_scale=pixel_scale)

    def smooth_and_resample(self, beam=None, pixel_scale=None, *, block_rows=64):
        """``convolve_to(beam)`` then ``resample(pixel_scale)``, streamed in strips.

        The result is that of the two steps (flux densities and surface
        brightness conserved as there), but the image is read and convolved
        a strip of rows at a time and sampled straight onto the coarser grid,
        so a 10k x 10k memory-mapped mosaic is never held, or copied, at full
        resolution. The strips are convolved in float32, only where the
        sampling reads the convolved image when the kernel separates into
        rows and columns (round beams on a north-up grid, as LoTSS), by FFT
        otherwise (the rounding error of the FFTs is a few per cent of the
        noise next to a 10 Jy/beam source and far less elsewhere), with
        PyTorch's number of threads (``torch.set_num_threads``,
        ``OMP_NUM_THREADS``). The new grid has the
        same projection and covers the same sky; since only the pixel scale
        changes, the map between the two grids is affine and the bilinear
        sampling separates into rows and columns
        (``bilinear_sample``).

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
        target = self.beam if beam is None else as_beam(beam)
        pixel_scale = self.pixel_scale if pixel_scale is None else u.Quantity(pixel_scale, u.arcsec)
        data, wcs, reached = regrid.smooth_and_resample(
            self, target, pixel_scale, block_rows=block_rows
        )
        return self.derived(data, wcs, beam=reached)

    # ---------------------------------------------------------- derived images

    def derived(self, data, wcs, *, beam=None):
        """A new mosaic of other pixels, keeping this one's frequency and metadata.

        Parameters
        ----------
        data : array_like
            The new image in Jy/beam.
        wcs : `~astropy.wcs.WCS`
            Its grid.
        beam : `radio_beam.Beam`, optional
            Its beam (default: this mosaic's).

        Returns
        -------
        SurveyMosaic
        """
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


def read_with_beam(source, beam=None):
    """Read an image, with ``beam`` for one whose header has none.

    :meth:`~diffuseradio.SurveyMosaic.read` with ``beam=`` overrides the header's beam;
    here a header beam is kept and a different ``beam`` is refused, since a
    wrong beam changes every flux density silently. This is what the command
    line's ``--beam`` means.

    Parameters
    ----------
    source : str or os.PathLike
        The FITS image.
    beam : `~astropy.units.Quantity` or `radio_beam.Beam`, optional
        The restoring beam (its FWHM) of an image whose header has none.

    Returns
    -------
    SurveyMosaic

    Raises
    ------
    diffuseradio.MissingBeamError
        If the header has no beam and ``beam`` is not given.
    ValueError
        If the header has a beam that differs from ``beam`` by more than 1 %.
    """
    try:
        mosaic = SurveyMosaic.read(source)
    except MissingBeamError:
        if beam is None:
            raise
        return SurveyMosaic.read(source, beam=beam)
    given = as_beam(beam) if beam is not None else None
    if given is not None and not u.isclose(mosaic.beam.major, given.major, rtol=0.01):
        raise ValueError(
            f"{source} has a {beam_text(mosaic.beam)} beam in its header; the beam given "
            f"({beam_text(given)}) is for images without one (to measure the image with "
            "another beam, fix its header)"
        )
    return mosaic
