"""Maps made on the working grid, back on the input image's pixels.

Detections are labelled and measured on the input's own grid, so the
probabilities come back there first: interpolated
(:func:`~diffuseradio.mosaic.regrid.to_input_grid`) and blanked where the
input is.
"""

import numpy as np

from ..mosaic.regrid import to_input_grid

__all__ = ["on_input_pixels"]

#: Rows of the input blanked at a time (a memory-mapped input is read in strips).
_STRIP_ROWS = 1024


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
    maps = np.nan_to_num(to_input_grid(maps, matched, mosaic), nan=0.0, copy=False)
    for start in range(0, mosaic.shape[0], _STRIP_ROWS):
        rows = slice(start, start + _STRIP_ROWS)
        maps[..., rows, :][..., ~np.isfinite(mosaic.data[rows])] = np.nan
    return maps
