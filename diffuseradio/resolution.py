"""Bringing an image to a model's working resolution.

Diffuse emission is found best, and most cheaply, at a resolution coarser
than a survey's native one. A model works at a beam and pixel scale given in
its card (e.g. 20" at 6" pixels). :func:`working_grid` decides how any input
gets there:

- inputs with a beam finer than the working beam are convolved to it
  (integrated flux densities conserved) and resampled to the working pixel
  scale (surface brightness conserved);
- inputs with a coarser beam keep their beam and are resampled so that the
  beam spans as many pixels as the working beam does (the network works in
  units of beams);
- inputs outside the accepted range of beams are refused, with the reason.

Both the detector and the training on users' own images call
:func:`to_working_grid`. Models with a second, native-resolution input
channel see the native image averaged over each working pixel
(:func:`pixel_average`).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from radio_beam import Beam
from scipy import sparse

from .exceptions import IncompatibleResolutionError
from .sampling import bilinear_sample

__all__ = [
    "WorkingGrid",
    "working_grid",
    "to_working_grid",
    "to_input_grid",
    "pixel_average",
    "pixel_sample",
    "sample_positions",
]

#: Relative difference below which beams and pixel scales count as equal.
_TOLERANCE = 0.02


@dataclass(frozen=True)
class WorkingGrid:
    """Where an input is taken to.

    Attributes
    ----------
    beam : radio_beam.Beam
        The beam after matching.
    pixel_scale : astropy.units.Quantity
        The pixel side after matching.
    convolve : bool
        Whether the input is convolved (its beam is finer than the working one).
    resample : bool
        Whether the input is resampled.
    """

    beam: Beam
    pixel_scale: u.Quantity
    convolve: bool
    resample: bool


def working_grid(beam, pixel_scale, *, working_beam, working_pixel_scale, accepted_range):
    """Decide the beam and pixel scale an input is brought to.

    Parameters
    ----------
    beam : radio_beam.Beam
        The input's beam.
    pixel_scale : astropy.units.Quantity
        The input's pixel side.
    working_beam : radio_beam.Beam
        The model's working beam.
    working_pixel_scale : astropy.units.Quantity
        The model's pixel side at the working beam.
    accepted_range : astropy.units.Quantity
        ``[min, max]`` major axis of the input beams the model accepts.

    Returns
    -------
    WorkingGrid

    Raises
    ------
    IncompatibleResolutionError
        If the input beam is outside ``accepted_range``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> grid = working_grid(Beam(6 * u.arcsec), 1.5 * u.arcsec, working_beam=Beam(20 * u.arcsec),
    ...                     working_pixel_scale=6 * u.arcsec,
    ...                     accepted_range=[4, 90] * u.arcsec)
    >>> grid.beam.major.to(u.arcsec), grid.pixel_scale, grid.convolve
    (<Quantity 20. arcsec>, <Quantity 6. arcsec>, True)
    >>> working_grid(Beam(60 * u.arcsec), 6 * u.arcsec, working_beam=Beam(20 * u.arcsec),
    ...              working_pixel_scale=6 * u.arcsec,
    ...              accepted_range=[4, 90] * u.arcsec).pixel_scale
    <Quantity 18. arcsec>
    """
    major = beam.major.to(u.arcsec)
    low, high = u.Quantity(accepted_range, u.arcsec)
    if major < low * (1 - _TOLERANCE) or major > high * (1 + _TOLERANCE):
        working = working_beam.major.to_value(u.arcsec)
        advice = (
            f"convolve it to at least {low.value:.3g} arcsec first"
            if major < low
            else "it is too coarse for this model to resolve diffuse sources"
        )
        raise IncompatibleResolutionError(
            f"the image's beam ({major.value:.3g} arcsec) is outside the "
            f"{low.value:.3g}-{high.value:.3g} arcsec range this model accepts (it works at "
            f"{working:.3g} arcsec): {advice}"
        )
    ratio = float(major / working_beam.major)
    if ratio <= 1 + _TOLERANCE:
        convolve = ratio < 1 - _TOLERANCE or beam.minor < working_beam.minor * (1 - _TOLERANCE)
        target_beam = working_beam if convolve else beam
        target_pixel = u.Quantity(working_pixel_scale, u.arcsec)
    else:
        convolve = False
        target_beam = beam
        target_pixel = u.Quantity(working_pixel_scale, u.arcsec) * ratio
    resample = abs(float(pixel_scale / target_pixel) - 1) > _TOLERANCE
    return WorkingGrid(target_beam, target_pixel.to(u.arcsec), convolve, resample)


def to_working_grid(mosaic, *, working_beam, working_pixel_scale, accepted_range):
    """Convolve and resample a mosaic as :func:`working_grid` decides.

    Parameters
    ----------
    mosaic : diffuseradio.SurveyMosaic
    working_beam, working_pixel_scale, accepted_range
        As in :func:`working_grid` (from a model card).

    Returns
    -------
    matched : diffuseradio.SurveyMosaic
        The image at the working resolution (``mosaic`` itself when nothing
        needed doing).
    grid : WorkingGrid
    """
    grid = working_grid(
        mosaic.beam,
        mosaic.pixel_scale,
        working_beam=working_beam,
        working_pixel_scale=working_pixel_scale,
        accepted_range=accepted_range,
    )
    if grid.resample:
        matched = mosaic.smooth_and_resample(grid.beam, grid.pixel_scale)
    elif grid.convolve:
        matched = mosaic.convolve_to(grid.beam)
    else:
        matched = mosaic
    return matched, grid


def to_input_grid(maps, matched, mosaic, *, block_rows=256):
    """Sample maps made on the working grid back onto the input's grid.

    The working grid from :func:`to_working_grid` differs from the input's
    only by its pixel scale (same projection, same sky), so the map between
    them is affine; values are interpolated bilinearly
    (:func:`~diffuseradio.sampling.bilinear_sample`), a strip of rows at a
    time.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(ny, nx)`` or ``(k, ny, nx)`` on ``matched``'s grid.
    matched : diffuseradio.SurveyMosaic
        The working-grid image.
    mosaic : diffuseradio.SurveyMosaic
        The input image.
    block_rows : int, optional
        Output rows per strip.

    Returns
    -------
    numpy.ndarray
        float32 maps on the input grid (``maps`` itself when the grids agree).
    """
    if matched.shape == mosaic.shape and matched.wcs.wcs.compare(mosaic.wcs.wcs):
        return np.asarray(maps, dtype=np.float32)
    planes = maps if maps.ndim == 3 else maps[None]
    factor = float(matched.pixel_scale / mosaic.pixel_scale)
    columns = (np.arange(mosaic.shape[1]) + 0.5) / factor - 0.5
    out = np.empty((planes.shape[0], *mosaic.shape), dtype=np.float32)
    for start in range(0, mosaic.shape[0], block_rows):
        rows = (np.arange(start, min(start + block_rows, mosaic.shape[0])) + 0.5) / factor - 0.5
        for index, plane in enumerate(planes):
            out[index, start : start + rows.size] = bilinear_sample(plane, rows, columns)
    return out if maps.ndim == 3 else out[0]


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
        by :meth:`~diffuseradio.SurveyMosaic.resample`).
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
        finite = np.isfinite(data)
        block = block[:, low:high]
        total = block @ np.where(finite, data, np.float32(0)) @ columns
        weight = block @ finite.astype(np.float32) @ columns
        with np.errstate(invalid="ignore", divide="ignore"):
            values = total / weight
        values[weight < min_coverage * footprint] = np.nan
        out[start : start + block.shape[0]] = values
    return mosaic._derived(out, like.wcs.deepcopy(), beam=mosaic.beam)


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
    if not mismatch <= 0.01 or min(scale for scale, _ in maps) < 1 - _TOLERANCE:
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
