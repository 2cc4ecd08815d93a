"""Bilinear sampling between grids related by a scale and a shift along each axis.

Resampling a mosaic to a coarser pixel scale, and bringing maps made there
back to the input's grid, sample one grid at positions that depend on the
output row alone and on the output column alone. The bilinear weights then
factor into one pair per row and one pair per column, and an image is
sampled with two gathers per axis, without coordinate arrays the size of the
output (as :func:`scipy.ndimage.map_coordinates` needs).
"""

import numpy as np

__all__ = ["bilinear_sample"]


def _axis_weights(positions, size):
    """Lower and upper neighbours and the weight of the upper one, per position."""
    positions = np.clip(np.asarray(positions, dtype=np.float64), 0, size - 1)
    low = np.minimum(np.floor(positions).astype(np.intp), max(size - 2, 0))
    high = np.minimum(low + 1, size - 1)
    return low, high, (positions - low).astype(np.float32)


def bilinear_sample(data, rows, columns):
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

    Returns
    -------
    numpy.ndarray
        ``(len(rows), len(columns))``.

    Examples
    --------
    >>> import numpy as np
    >>> from diffuseradio.sampling import bilinear_sample
    >>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
    >>> bilinear_sample(image, [0.5, 2.0], [0.0, 1.5, 9.0])
    array([[ 2. ,  3.5,  5. ],
           [ 8. ,  9.5, 11. ]], dtype=float32)
    """
    top, bottom, down = _axis_weights(rows, data.shape[0])
    left, right, across = _axis_weights(columns, data.shape[1])
    if len(top) * data.shape[1] <= data.shape[0] * len(left):  # rows first: fewer samples
        upper, lower = data[top], data[bottom]
        strip = upper + down[:, None] * (lower - upper)
        west, east = strip[:, left], strip[:, right]
        return west + across * (east - west)
    west, east = data[:, left], data[:, right]
    strip = west + across * (east - west)
    upper, lower = strip[top], strip[bottom]
    return upper + down[:, None] * (lower - upper)
