"""Maps made on the working grid, back on the input image's pixels.

Detections are labelled and measured on the input's own grid, so the
probabilities come back there: interpolated
(:func:`~diffuseradio.mosaic.regrid.input_grid_samples`) and blanked where
the input is. :func:`on_input_pixels` makes the whole map;
:class:`InputGridMap` makes any part of it when it is read, so that the
detector never holds a full-resolution map of a LoTSS-DR2 mosaic (360 MB of
float32 for 9500^2 pixels, 1.6 GB for a 20000^2 facet): the labelling, the
measurements and the FITS writer read it a strip or a detection at a time.
"""

import numpy as np

from ..mosaic.reading import release_pages
from ..mosaic.regrid import input_grid_samples

__all__ = ["on_input_pixels", "InputGridMap"]

#: Input rows made at a time.
_STRIP_ROWS = 256


def _on_input_box(planes, matched, mosaic, rows, columns):
    """``(k, rows, columns)`` of the maps on the input's pixels: 0 where the
    working grid had no value, NaN where the input is blanked."""
    values = input_grid_samples(planes, matched, mosaic, rows, columns)
    np.copyto(values, 0, where=np.isnan(values))
    np.copyto(values, np.nan, where=~np.isfinite(mosaic.data[rows, columns]))
    release_pages(mosaic.data)
    return values


def on_input_pixels(maps, matched, mosaic):
    """Maps made on the working grid, on the input's grid, NaN where the input is.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(ny, nx)`` or ``(k, ny, nx)`` on ``matched``'s grid.
    matched : `~diffuseradio.SurveyMosaic`
        The input on the working grid.
    mosaic : `~diffuseradio.SurveyMosaic`
        The input.

    Returns
    -------
    numpy.ndarray
        float32 on ``mosaic``'s grid: 0 where the working grid had no value,
        NaN where ``mosaic`` is blanked.
    """
    planes = maps if maps.ndim == 3 else maps[None]
    out = np.empty((planes.shape[0], *mosaic.shape), dtype=np.float32)
    for start in range(0, mosaic.shape[0], _STRIP_ROWS):
        rows = slice(start, start + _STRIP_ROWS)
        out[:, rows] = _on_input_box(planes, matched, mosaic, rows, slice(None))
    return out if maps.ndim == 3 else out[0]


class InputGridMap:
    """A map on the input's pixels, made from the working grid where it is read.

    It is indexed as the array :func:`on_input_pixels` would return, with
    the same values: a box of rows and columns (``map[r0:r1, c0:c1]``, or
    ``map[..., r0:r1, c0:c1]`` for several planes) is interpolated when it is
    asked for, so reading a LoTSS-DR2 mosaic's map a strip at a time never
    holds it whole. Any other index, and ``numpy.asarray(map)``, make the
    whole map.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(ny, nx)`` or ``(k, ny, nx)`` on ``matched``'s grid.
    matched : `~diffuseradio.SurveyMosaic`
        The input on the working grid.
    mosaic : `~diffuseradio.SurveyMosaic`
        The input.

    Attributes
    ----------
    shape : tuple of int
        ``mosaic.shape``, after the number of planes for a 3-D ``maps``.
    ndim : int
    dtype : numpy.dtype
        float32.
    """

    def __init__(self, maps, matched, mosaic):
        self.maps = maps
        self.matched = matched
        self.mosaic = mosaic
        self.shape = (*maps.shape[:-2], *mosaic.shape)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float32)

    def __repr__(self):
        return f"<InputGridMap {self.shape} from a working grid of {self.matched.shape}>"

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        whole = on_input_pixels(self.maps, self.matched, self.mosaic)
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __getitem__(self, key):
        box = self._box(key)
        if box is None:
            return np.asarray(self)[key]
        planes, rows, columns = box
        stack = self.maps if self.maps.ndim == 3 else self.maps[None]
        values = _on_input_box(stack[planes], self.matched, self.mosaic, rows, columns)
        return values if self.maps.ndim == 3 else values[0]

    def _box(self, key):
        """``(planes, rows, columns)`` of a box index, or None for any other index."""
        key = key if isinstance(key, tuple) else (key,)
        if key and key[0] is Ellipsis:
            key = (slice(None),) * (self.ndim + 1 - len(key)) + key[1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        if len(key) != self.ndim or not all(isinstance(k, slice) for k in key[-2:]):
            return None
        if any(k.step not in (None, 1) for k in key[-2:]):
            return None
        planes = key[0] if self.ndim == 3 else slice(None)
        if not isinstance(planes, slice):  # one plane of a stack: keep its axis
            return None
        return planes, key[-2], key[-1]

    def strips(self, rows=_STRIP_ROWS):
        """The whole map, a strip of rows at a time.

        Parameters
        ----------
        rows : int, optional

        Yields
        ------
        numpy.ndarray
            ``(rows, nx)`` or ``(k, rows, nx)`` float32.
        """
        for start in range(0, self.shape[-2], rows):
            yield self[..., start : start + rows, :]
