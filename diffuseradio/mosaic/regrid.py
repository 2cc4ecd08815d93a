"""Regridding: one family of resamplers between grids of one projection.

Everything here moves an image between pixel grids that share a projection
and the sky they cover and differ by their pixel scale (a working grid and
the input's, a 6" image's grid and a 20" one's), plus the beam convolution
that goes with it. The functions work on arrays (or anything with ``data``,
``wcs`` and ``shape``); :class:`~diffuseradio.SurveyMosaic`'s ``convolve_to``,
``resample`` and ``smooth_and_resample`` are thin methods over them.

- :func:`scaled_grid`: the WCS and shape of the same sky with pixels
  ``factor`` times larger;
- :func:`beam_kernel` and :func:`normalised_convolution`: convolution to a
  larger beam, ignoring blanked pixels;
- :func:`smooth_and_resample`: convolve and resample in strips, sampled
  bilinearly (:func:`bilinear_sample`) straight onto the coarser grid;
- :func:`input_grid_samples`: maps made on a coarser grid, sampled at a box
  of a finer one;
- :func:`pixel_average` and :func:`pixel_sample`: a finer image averaged
  over, or sampled at, the pixels of a coarser grid related to it by a scale
  and a shift along each axis (:func:`sample_positions`).

Bilinear sampling between grids related by a scale and a shift samples one
grid at positions that depend on the output row alone and on the output
column alone: the weights factor into one pair per row and one pair per
column, and an image is sampled with two gathers per axis, without
coordinate arrays the size of the output (as
:func:`scipy.ndimage.map_coordinates` needs).
"""

import astropy.units as u
import numpy as np
from radio_beam import Beam
from radio_beam.utils import BeamError
from scipy import sparse

from ..exceptions import IncompatibleResolutionError
from .reading import beam_text, release_pages

__all__ = [
    "bilinear_sample",
    "scaled_grid",
    "beam_kernel",
    "reachable_beam",
    "normalised_convolution",
    "check_sampling",
    "separable_factors",
    "smooth_and_resample",
    "input_grid_samples",
    "pixel_average",
    "pixel_sample",
    "sample_positions",
]

#: Largest mismatch (relative) of two grids' pixel scales still taken as equal.
_GRID_TOLERANCE = 0.02


def _axis_weights(positions, size):
    """Lower and upper neighbours and the weight of the upper one, per position."""
    positions = np.clip(np.asarray(positions, dtype=np.float64), 0, size - 1)
    low = np.minimum(np.floor(positions).astype(np.intp), max(size - 2, 0))
    high = np.minimum(low + 1, size - 1)
    return low, high, (positions - low).astype(np.float32)


def bilinear_sample(data, rows, columns, *, rows_first=None):
    """Sample an image bilinearly on the grid of ``rows`` x ``columns`` positions.

    The same values as ``scipy.ndimage.map_coordinates(data, np.meshgrid(rows,
    columns, indexing="ij"), order=1, mode="nearest")`` to float32 rounding:
    positions beyond the edges take the edge pixels, and a NaN reaches every
    output sample it neighbours.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image (float32 keeps the work in float32).
    rows, columns : array_like
        1-D fractional pixel positions (0 is the centre of the first pixel)
        along the first and the second axis.
    rows_first : bool, optional
        Interpolate between rows first (then between columns), or the other
        way round; by default whichever reads fewer samples. The two orders
        agree to float32 rounding; fix it where values must repeat exactly
        whichever part of an image is sampled.

    Returns
    -------
    numpy.ndarray
        ``(len(rows), len(columns))``.

    Examples
    --------
    >>> import numpy as np
    >>> from diffuseradio.mosaic.regrid import bilinear_sample
    >>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
    >>> bilinear_sample(image, [0.5, 2.0], [0.0, 1.5, 9.0])
    array([[ 2. ,  3.5,  5. ],
           [ 8. ,  9.5, 11. ]], dtype=float32)
    """
    top, bottom, down = _axis_weights(rows, data.shape[0])
    left, right, across = _axis_weights(columns, data.shape[1])
    if rows_first is None:
        rows_first = len(top) * data.shape[1] <= data.shape[0] * len(left)  # fewer samples
    if rows_first:
        upper, lower = data[top], data[bottom]
        strip = upper + down[:, None] * (lower - upper)
        west, east = strip[:, left], strip[:, right]
        return west + across * (east - west)
    west, east = data[:, left], data[:, right]
    strip = west + across * (east - west)
    upper, lower = strip[top], strip[bottom]
    return upper + down[:, None] * (lower - upper)


def scaled_grid(wcs, shape, factor):
    """A WCS and shape covering the same sky with pixels ``factor`` times larger.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        2-D celestial WCS.
    shape : tuple of int
        ``(ny, nx)``.
    factor : float
        New pixel side over the old one (below 1 for finer pixels).

    Returns
    -------
    wcs : astropy.wcs.WCS
        Same projection; the outer pixel edges stay where they were.
    shape : tuple of int
        Enough pixels to cover the old grid.
    """
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


def beam_kernel(beam, target, pixel_scale, *, north=0.0 * u.deg):
    """Normalised pixel kernel that takes ``beam`` to the larger ``target`` beam.

    Parameters
    ----------
    beam, target : radio_beam.Beam
    pixel_scale : astropy.units.Quantity
    north : astropy.units.Quantity, optional
        Position angle (east of north) of the grid's +y axis: the beams'
        position angles are on the sky, the kernel's on the grid (see
        :func:`grid_north`).

    Returns
    -------
    numpy.ndarray
        The target deconvolved by ``beam``, sampled on the pixels, summing to 1.

    Raises
    ------
    IncompatibleResolutionError
        If ``target`` is smaller than ``beam`` in any direction.
    """
    try:
        kernel_beam = target.deconvolve(beam)
    except (BeamError, ValueError) as err:
        raise IncompatibleResolutionError(
            f"cannot convolve the {beam_text(beam)} beam to the smaller "
            f"{beam_text(target)} beam: {err}"
        ) from None
    if north != 0:
        kernel_beam = Beam(kernel_beam.major, kernel_beam.minor, kernel_beam.pa - north)
    kernel = kernel_beam.as_kernel(pixel_scale).array
    return kernel / kernel.sum()


def grid_north(wcs):
    """Position angle (east of north) of a celestial grid's +y axis at its centre.

    0 for the usual north-up image; the angle a grid is rotated by otherwise
    (``CROTA2``, or a rotating ``PC``/``CD`` matrix).
    """
    ny, nx = wcs.pixel_shape[::-1] if wcs.pixel_shape else (2, 2)
    x, y = (nx - 1) / 2, (ny - 1) / 2
    centre, up = wcs.pixel_to_world([x, x], [y, y + 1])
    return centre.position_angle(up).wrap_at(180 * u.deg).to(u.deg)


#: Smallest FWHM, in pixels, of a convolution kernel's minor axis: narrower
#: kernels are not sampled faithfully by the pixels (their major axis loses width).
MIN_KERNEL_PIXELS = 2.0


def reachable_beam(beam, target, pixel_scale):
    """``target``, or the smallest larger beam a well-sampled kernel reaches.

    Taking a beam to a target whose major axis is (nearly) the beam's own
    (a 20" x 12.5" image beam to a 20" circular working beam) needs a kernel
    that is (nearly) zero wide along that axis: it cannot be deconvolved, or
    the pixels sample it so badly that the result is not the target. The
    target is then enlarged, in steps of 0.5 %, until the kernel's minor axis
    spans :data:`MIN_KERNEL_PIXELS` pixels (for 20" x 12.5" at 4" pixels:
    21.6"); the result has the beam returned.

    Parameters
    ----------
    beam, target : radio_beam.Beam
    pixel_scale : astropy.units.Quantity
        Pixel side of the image convolved.

    Returns
    -------
    radio_beam.Beam
        The beam a convolution to ``target`` reaches (``target`` itself in
        the usual case of a much finer image beam).
    """
    smallest = MIN_KERNEL_PIXELS * pixel_scale
    for factor in 1 + 0.005 * np.arange(101):
        candidate = (
            target if factor == 1 else Beam(target.major * factor, target.minor * factor, target.pa)
        )
        try:
            kernel = candidate.deconvolve(beam)
        except (BeamError, ValueError):
            continue
        if kernel.minor >= smallest:
            return candidate
    return target  # beam_kernel says why it cannot be reached


def fft_threads():
    """Threads for the FFTs: PyTorch's intra-op thread count.

    One setting (``torch.set_num_threads``, ``OMP_NUM_THREADS``, a survey
    worker's ``threads_per_worker``) then governs all the number crunching.
    """
    import torch

    return torch.get_num_threads()


def normalised_convolution(data, kernel):
    """Convolve ignoring NaNs and the image edges; NaNs stay NaN.

    Dividing by the kernel weight that fell on data keeps surface brightness
    right next to blanked regions and the image edges.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, NaN where blanked.
    kernel : numpy.ndarray
        Normalised 2-D kernel.

    Returns
    -------
    numpy.ndarray
        At least float32.
    """
    from scipy.fft import set_workers
    from scipy.signal import oaconvolve

    dtype = np.result_type(data.dtype, np.float32)
    blank = ~np.isfinite(data)
    filled = np.where(blank, 0, data).astype(dtype, copy=False)
    kernel = kernel.astype(dtype)
    with set_workers(fft_threads()):
        smoothed = oaconvolve(filled, kernel, mode="same")
        coverage = oaconvolve((~blank).astype(dtype), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed /= coverage
    smoothed[blank] = np.nan
    return smoothed


def check_sampling(pixel_scale, beam):
    """Refuse pixels larger than half the beam's minor axis.

    Raises
    ------
    IncompatibleResolutionError
    """
    if pixel_scale > beam.minor / 2:
        raise IncompatibleResolutionError(
            f"{pixel_scale:.3g} pixels would undersample the "
            f"{beam_text(beam)} beam; convolve_to a beam of at least "
            f"{2 * pixel_scale.to(u.arcsec):.3g} first"
        )


def separable_factors(kernel, *, tolerance=1e-6):
    """The two 1-D factors of a kernel that is an outer product, or None.

    A Gaussian kernel whose axes lie along the grid's (a round beam to a
    round beam, as LoTSS 6" to a 20" working beam) is the outer product of a
    column and a row; the convolution then costs two 1-D passes.

    Parameters
    ----------
    kernel : numpy.ndarray
        2-D kernel.
    tolerance : float, optional
        Largest second singular value, relative to the first, still taken as
        zero.

    Returns
    -------
    tuple of numpy.ndarray or None
        ``(along_rows, along_columns)`` with ``np.outer(along_rows,
        along_columns)`` equal to ``kernel`` to ``tolerance``, or None for a
        kernel that does not separate (an elliptical beam at an angle to the
        grid).
    """
    left, values, right = np.linalg.svd(np.asarray(kernel, dtype=np.float64))
    if values.size > 1 and values[1] > tolerance * values[0]:
        return None
    along_rows = left[:, 0] * np.sqrt(values[0])
    along_columns = right[0] * np.sqrt(values[0])
    if along_rows.sum() < 0:
        along_rows, along_columns = -along_rows, -along_columns
    return along_rows, along_columns


def _convolution_rows(kernel, positions, size):
    """Rows of the matrix that convolves ``size`` samples, at integer ``positions``.

    ``matrix @ data`` is the "same"-mode convolution of ``data`` (zero outside
    it) with the 1-D ``kernel``, evaluated at ``positions`` only.
    """
    half = kernel.size // 2
    taps = np.asarray(positions)[:, None] - np.arange(size)[None, :] + half
    inside = (taps >= 0) & (taps < kernel.size)
    return np.where(inside, kernel[np.clip(taps, 0, kernel.size - 1)], 0).astype(np.float32)


class _SeparableSampler:
    """Normalised convolution by a separable kernel, at bilinear neighbours only.

    :func:`smooth_and_resample` needs the convolved image only at the pixels
    its bilinear sampling reads: two rows and two columns per output pixel.
    With a kernel that separates, each strip is convolved along the rows at
    those rows (one matrix product) and along the columns at those columns
    (matrix products over short runs of columns), then normalised, blanked
    and interpolated exactly as the full convolution would be. The products
    run in PyTorch, on its number of threads (as the FFTs, :func:`fft_threads`).
    """

    #: Output columns per matrix product of the column pass.
    COLUMN_CHUNK = 64

    def __init__(self, along_rows, along_columns, columns, width):
        self.along_rows = along_rows
        self.left, self.right, self.across = _axis_weights(columns, width)
        self.chunks = [
            self._column_chunk(along_columns, needed[start : start + self.COLUMN_CHUNK], width)
            for needed in (self.left, self.right)
            for start in range(0, needed.size, self.COLUMN_CHUNK)
        ]

    @staticmethod
    def _column_chunk(kernel, needed, width):
        import torch

        half = kernel.size // 2
        low = max(int(needed[0]) - half, 0)
        high = min(int(needed[-1]) + half + 1, width)
        return low, high, torch.from_numpy(_convolution_rows(kernel, needed - low, high - low).T)

    def sample(self, block, rows):
        """Convolve ``block`` (NaN where blanked), sampled at ``rows`` x the columns."""
        import torch

        top, bottom, down = _axis_weights(rows, block.shape[0])
        needed = np.concatenate([top, bottom])
        blank = ~np.isfinite(block)
        weights = torch.from_numpy(_convolution_rows(self.along_rows, needed, block.shape[0]))
        filled = torch.from_numpy(np.where(blank, np.float32(0), block))
        along = [weights @ filled, weights @ torch.from_numpy((~blank).astype(np.float32))]
        total, coverage = (
            torch.cat([part[:, low:high] @ chunk for low, high, chunk in self.chunks], 1).numpy()
            for part in along
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            smoothed = total / coverage
        smoothed[blank[needed][:, np.concatenate([self.left, self.right])]] = np.nan
        upper, lower = np.split(smoothed, 2)
        strip = upper + down[:, None] * (lower - upper)
        west, east = np.split(strip, 2, axis=1)
        return west + self.across * (east - west)


def smooth_and_resample(mosaic, beam, pixel_scale, *, block_rows=64):
    """Convolve to ``beam`` and resample to ``pixel_scale``, a strip of rows at a time.

    The body of :meth:`diffuseradio.SurveyMosaic.smooth_and_resample`: the
    image is read and convolved in strips and sampled straight onto the
    coarser grid, in float32. A kernel that separates (:func:`separable_factors`)
    is applied only where the bilinear sampling reads the convolved image;
    any other is applied to the whole strip by FFT
    (:func:`normalised_convolution`). Both give the same values.

    Parameters
    ----------
    mosaic : diffuseradio.SurveyMosaic
        The input (``data``, ``wcs``, ``beam``, ``shape``, ``pixel_scale`` are read).
    beam : radio_beam.Beam
        Target beam (the input's for no convolution; see :func:`reachable_beam`).
    pixel_scale : astropy.units.Quantity
        Target pixel side.
    block_rows : int, optional
        Output rows per strip.

    Returns
    -------
    data : numpy.ndarray
        float32 on the new grid; NaN beyond the input's outer edge.
    wcs : astropy.wcs.WCS
        The new grid (:func:`scaled_grid`).
    beam : radio_beam.Beam
        The beam reached.
    """
    if beam != mosaic.beam:
        beam = reachable_beam(mosaic.beam, beam, mosaic.pixel_scale)
    check_sampling(pixel_scale, beam)
    convolve = beam != mosaic.beam
    kernel = (
        beam_kernel(mosaic.beam, beam, mosaic.pixel_scale, north=grid_north(mosaic.wcs))
        if convolve
        else None
    )
    margin = kernel.shape[0] // 2 + 1 if convolve else 0
    factor = float(pixel_scale / mosaic.pixel_scale)
    wcs, shape = scaled_grid(mosaic.wcs, mosaic.shape, factor)
    out = np.empty(shape, dtype=np.float32)
    columns = (np.arange(shape[1]) + 0.5) * factor - 0.5
    factors = separable_factors(kernel) if convolve else None
    sampler = None if factors is None else _SeparableSampler(*factors, columns, mosaic.shape[1])
    scale = float(beam.sr / mosaic.beam.sr)
    for start in range(0, shape[0], block_rows):
        rows = (np.arange(start, min(start + block_rows, shape[0])) + 0.5) * factor - 0.5
        low = min(max(int(np.floor(rows[0])) - margin, 0), mosaic.shape[0] - 1)
        high = min(int(np.ceil(rows[-1])) + 2 + margin, mosaic.shape[0])
        block = np.asarray(mosaic.data[low:high], dtype=np.float32)
        release_pages(mosaic.data)
        if sampler is not None:
            out[start : start + rows.size] = sampler.sample(block, rows - low) * scale
            continue
        if convolve:
            block = normalised_convolution(block, kernel) * scale
        out[start : start + rows.size] = bilinear_sample(block, rows - low, columns)
    # Pixel centres beyond the outer edge of the input image have no data.
    edge = 0.5 - 1e-6  # tolerate rounding on the outer pixel edge
    out[(np.arange(shape[0]) + 0.5) * factor - 0.5 > mosaic.shape[0] - edge] = np.nan
    out[:, columns > mosaic.shape[1] - edge] = np.nan
    return out, wcs, beam


def input_grid_samples(maps, matched, mosaic, rows, columns):
    """Maps made on the working grid, sampled at a box of the input's pixels.

    The working grid from :func:`to_working_grid` differs from the input's
    only by its pixel scale (same projection, same sky), so the map between
    them is affine; values are interpolated bilinearly
    (:func:`bilinear_sample`, rows first: a pixel has the same value whichever
    box it is sampled in).

    Parameters
    ----------
    maps : numpy.ndarray
        ``(k, ny, nx)`` on ``matched``'s grid.
    matched : diffuseradio.SurveyMosaic
        The working-grid image.
    mosaic : diffuseradio.SurveyMosaic
        The input image.
    rows, columns : slice
        The box, in the input's pixels (steps of 1).

    Returns
    -------
    numpy.ndarray
        float32 ``(k, rows, columns)``, a new array.
    """
    rows = range(*rows.indices(mosaic.shape[0]))
    columns = range(*columns.indices(mosaic.shape[1]))
    if matched.shape == mosaic.shape and matched.wcs.wcs.compare(mosaic.wcs.wcs):
        box = (slice(None), slice(rows.start, rows.stop), slice(columns.start, columns.stop))
        return np.array(maps[box], dtype=np.float32)
    factor = float(matched.pixel_scale / mosaic.pixel_scale)
    at_rows = (np.asarray(rows) + 0.5) / factor - 0.5
    at_columns = (np.asarray(columns) + 0.5) / factor - 0.5
    return np.stack(
        [bilinear_sample(plane, at_rows, at_columns, rows_first=True) for plane in maps]
    )


def pixel_average(mosaic, like, *, block_rows=256, min_coverage=0.5):
    """Average an image over each pixel of a coarser grid.

    Each output pixel is the mean of the input over the output pixel's
    footprint, every input pixel weighted by the area it shares with it
    (exact for pixels aligned with the axes). Jy/beam is a surface
    brightness, so the mean keeps it; the result has the input's beam, now
    integrated over the coarser pixels (a point source averaged over a
    6" pixel from a 6" beam keeps about 70 % of its peak when centred). Unlike
    :meth:`~diffuseradio.SurveyMosaic.resample`, this works where the new
    pixels undersample the beam, with no aliasing of noise from between the
    samples.

    Parameters
    ----------
    mosaic : diffuseradio.SurveyMosaic
        The input, e.g. a 6" image at 1.5" pixels.
    like : diffuseradio.SurveyMosaic
        An image on the output grid, e.g. the working-grid image of a
        model (only its ``wcs`` and ``shape`` are read). Its grid must map
        onto the input's by a scale and a shift along each axis (the same
        projection and centre, as LoTSS 6" and 20" mosaics or any grid made
        by :meth:`~diffuseradio.SurveyMosaic.resample` or
        :func:`scaled_grid`).
    block_rows : int, optional
        Output rows per strip (a memory-mapped input is read a strip at a time).
    min_coverage : float, optional
        Output pixels with less than this fraction of their footprint on
        unblanked input pixels are blanked.

    Returns
    -------
    diffuseradio.SurveyMosaic
        float32, on ``like``'s grid, with ``mosaic``'s beam.

    Raises
    ------
    IncompatibleResolutionError
        If the grids are not related by a scale and a shift, or the output
        pixels are smaller than the input's.
    """
    row_map, column_map = _axis_maps(mosaic, like)
    rows = _overlap_matrix(*row_map, like.shape[0], mosaic.shape[0])
    columns = _overlap_matrix(*column_map, like.shape[1], mosaic.shape[1]).T.tocsr()
    out = np.full(like.shape, np.nan, dtype=np.float32)
    footprint = row_map[0] * column_map[0]
    for start in range(0, like.shape[0], block_rows):
        block = rows[start : start + block_rows]
        used = np.flatnonzero(np.asarray(block.sum(axis=0)).ravel())
        if used.size == 0:
            continue
        low, high = used[0], used[-1] + 1
        data = np.asarray(mosaic.data[low:high], dtype=np.float32)
        release_pages(mosaic.data)
        finite = np.isfinite(data)
        block = block[:, low:high]
        total = block @ np.where(finite, data, np.float32(0)) @ columns
        weight = block @ finite.astype(np.float32) @ columns
        with np.errstate(invalid="ignore", divide="ignore"):
            values = total / weight
        values[weight < min_coverage * footprint] = np.nan
        out[start : start + block.shape[0]] = values
    return mosaic.derived(out, like.wcs.deepcopy(), beam=mosaic.beam)


def pixel_sample(mosaic, like):
    """Sample an image at the pixel centres of a coarser grid (bilinear).

    The counterpart of :func:`pixel_average` for an image whose beam is
    well sampled by the coarser grid too (e.g. a 20" model made on 1.5"
    pixels, brought to 6" pixels): the values are those a 20" image on the
    coarser grid has, as an imager samples it, without the extra smoothing
    of an average over each coarse pixel.

    Parameters
    ----------
    mosaic : diffuseradio.SurveyMosaic
        The input on the finer grid.
    like : diffuseradio.SurveyMosaic
        An image on the output grid, related to the input's by a scale and a
        shift along each axis (see :func:`pixel_average`).

    Returns
    -------
    numpy.ndarray
        float32 ``like.shape``.

    Raises
    ------
    IncompatibleResolutionError
        If the grids are not related by a scale and a shift, or the output
        pixels are smaller than the input's.
    """
    rows, columns = sample_positions(mosaic, like)
    return bilinear_sample(np.asarray(mosaic.data, dtype=np.float32), rows, columns)


def sample_positions(mosaic, like):
    """Where the pixel centres of a coarser grid fall on an image's grid.

    Parameters
    ----------
    mosaic, like : diffuseradio.SurveyMosaic
        The input and the output grid (see :func:`pixel_sample`).

    Returns
    -------
    rows, columns : numpy.ndarray
        Fractional pixel positions in ``mosaic`` (0 is the centre of its
        first pixel) of ``like``'s rows and columns.

    Raises
    ------
    IncompatibleResolutionError
        If the grids are not related by a scale and a shift, or the output
        pixels are smaller than the input's.
    """
    (row_scale, row_offset), (column_scale, column_offset) = _axis_maps(mosaic, like)
    rows = row_scale * np.arange(like.shape[0]) + row_offset
    columns = column_scale * np.arange(like.shape[1]) + column_offset
    return rows, columns


def _axis_maps(mosaic, like):
    """``(scale, offset)`` per axis (y, x) with input pixel = scale * output pixel + offset."""
    ny, nx = like.shape
    yy, xx = (
        grid.ravel()
        for grid in np.meshgrid(
            [0.0, (ny - 1) / 2, ny - 1.0], [0.0, (nx - 1) / 2, nx - 1.0], indexing="ij"
        )
    )
    x_in, y_in = mosaic.wcs.world_to_pixel(like.wcs.pixel_to_world(xx, yy))
    maps, mismatch = [], 0.0
    for inputs, outputs in ((y_in, yy), (x_in, xx)):
        design = np.c_[outputs, np.ones_like(outputs)]
        (scale, offset), *_ = np.linalg.lstsq(design, inputs, rcond=None)
        mismatch = max(mismatch, float(np.max(np.abs(design @ [scale, offset] - inputs))))
        maps.append((float(scale), float(offset)))
    if not mismatch <= 0.01 or min(scale for scale, _ in maps) < 1 - _GRID_TOLERANCE:
        raise IncompatibleResolutionError(
            "the native image's grid is not a finer version of the working grid (same "
            "projection and centre, pixels no larger): reproject it onto the tapered "
            "image's projection first (e.g. with reproject)"
        )
    return maps


def _overlap_matrix(scale, offset, n_out, n_in):
    """Sparse ``(n_out, n_in)`` lengths shared by output and input pixels, along one axis."""
    low = scale * (np.arange(n_out) - 0.5) + offset
    high = low + scale
    first = np.floor(low + 0.5).astype(int)
    count = int(np.ceil(scale)) + 2
    candidates = first[:, None] + np.arange(count)
    shared = np.minimum(high[:, None], candidates + 0.5) - np.maximum(
        low[:, None], candidates - 0.5
    )
    keep = (shared > 0) & (candidates >= 0) & (candidates < n_in)
    output_index = np.broadcast_to(np.arange(n_out)[:, None], candidates.shape)
    return sparse.csr_matrix(
        (shared[keep].astype(np.float32), (output_index[keep], candidates[keep])),
        shape=(n_out, n_in),
    )
