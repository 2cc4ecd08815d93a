"""Tile grids over 2-D images and seamless, weighted stitching of tile outputs.

Pure numpy: no I/O, no WCS, no network. :meth:`SurveyMosaic.tiles
<diffuseradio.mosaic.SurveyMosaic.tiles>`, the detector and the training
datasets all cut images with :func:`tile_slices` and recombine per-tile
results with :class:`TileStitcher`, so training and inference see tiles the
same way.
"""

import numpy as np

__all__ = ["tile_starts", "tile_slices", "blending_window", "TileStitcher"]


def tile_starts(length, size, overlap):
    """First pixel of each tile along one axis.

    Tiles advance by ``size - overlap``; the last tile is shifted back so it
    ends exactly at the image edge (tiles are never padded). An axis shorter
    than ``size`` gets a single tile starting at 0 (which is then shorter than
    ``size``).

    Parameters
    ----------
    length : int
        Number of pixels along the axis.
    size : int
        Tile length in pixels.
    overlap : int
        Pixels shared by neighbouring tiles, ``0 <= overlap < size``.

    Returns
    -------
    list of int

    Examples
    --------
    >>> tile_starts(10, 4, 1)
    [0, 3, 6]
    >>> tile_starts(11, 4, 1)
    [0, 3, 6, 7]
    >>> tile_starts(3, 4, 1)
    [0]
    """
    _check_tiling(size, overlap)
    if length <= size:
        return [0]
    step = size - overlap
    starts = list(range(0, length - size, step))
    starts.append(length - size)
    return starts


def tile_slices(shape, size, overlap):
    """Pairs of slices covering a 2-D array with overlapping tiles.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the image.
    size : int or tuple of int
        Tile size in pixels, one number or ``(size_y, size_x)``.
    overlap : int or tuple of int
        Overlap in pixels, one number or per axis.

    Returns
    -------
    list of tuple of slice
        Row-major list of ``(slice_y, slice_x)``.
    """
    size_y, size_x = _pair(size)
    overlap_y, overlap_x = _pair(overlap)
    ny, nx = shape
    return [
        (slice(y0, min(y0 + size_y, ny)), slice(x0, min(x0 + size_x, nx)))
        for y0 in tile_starts(ny, size_y, overlap_y)
        for x0 in tile_starts(nx, size_x, overlap_x)
    ]


def blending_window(shape, overlap):
    """Separable blending weights for one tile.

    Weights rise as ``sin^2`` over the first and last ``overlap`` pixels of
    each axis and are 1 in between. They never reach zero, so every pixel a
    tile covers is normalised, and neighbouring tiles cross-fade smoothly
    across their overlap instead of meeting at a seam.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the tile.
    overlap : int or tuple of int
        Overlap in pixels, one number or per axis.

    Returns
    -------
    numpy.ndarray
        float64 array of ``shape``.
    """
    ramps = [_ramp(n, ov) for n, ov in zip(shape, _pair(overlap))]
    return np.outer(ramps[0], ramps[1])


class TileStitcher:
    """Recombine per-tile outputs into one image with blending weights.

    Accumulates ``sum(w * value)`` and ``sum(w)`` in float64 and returns their
    ratio as float32. NaN values in a tile do not contribute; pixels no tile
    covered (or covered only by NaN) are NaN in the result. An identity
    per-tile function therefore returns the original float32 image exactly.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the full image.
    overlap : int or tuple of int
        The tiles' overlap, which sets the width of the blending ramps.
    channels : int, optional
        When given, tile outputs have a leading channel axis of this length
        and the result has shape ``(channels, ny, nx)``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(35, dtype=np.float32).reshape(5, 7)
    >>> stitcher = TileStitcher(image.shape, overlap=1)
    >>> for slices in tile_slices(image.shape, 3, 1):
    ...     stitcher.add(slices, image[slices])
    >>> bool(np.array_equal(stitcher.result(), image))
    True
    """

    def __init__(self, shape, overlap, *, channels=None):
        self.shape = tuple(shape)
        self.overlap = _pair(overlap)
        lead = () if channels is None else (channels,)
        self._sum = np.zeros(lead + self.shape, dtype=np.float64)
        self._weight = np.zeros(lead + self.shape, dtype=np.float64)

    def add(self, slices, values):
        """Add one tile's output.

        Parameters
        ----------
        slices : tuple of slice
            Where the tile lies in the full image.
        values : array_like
            The tile's output, shape ``(ny, nx)`` or ``(channels, ny, nx)``.
        """
        values = np.asarray(values, dtype=np.float64)
        window = blending_window(values.shape[-2:], self.overlap)
        valid = np.isfinite(values)
        weight = np.where(valid, window, 0.0)
        index = (Ellipsis,) + tuple(slices)
        self._sum[index] += np.where(valid, values, 0.0) * weight
        self._weight[index] += weight

    def result(self):
        """The blended image (float32, NaN where nothing contributed)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self._sum / self._weight
        return out.astype(np.float32)


def _ramp(n, overlap):
    ramp = np.ones(n)
    width = min(overlap, n // 2)
    if width > 0:
        edge = np.sin(0.5 * np.pi * (np.arange(width) + 0.5) / width) ** 2
        ramp[:width] = edge
        ramp[n - width :] = edge[::-1]
    return ramp


def _pair(value):
    if np.ndim(value) == 0:
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def _check_tiling(size, overlap):
    if size < 1:
        raise ValueError(f"tile size must be at least 1 pixel, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(
            f"tile overlap must satisfy 0 <= overlap < size, got overlap={overlap} for size={size}"
        )
