"""Maps made on the working grid, back on the input image's pixels.

Detections are labelled and measured on the input's own grid, so the
probabilities come back there first: interpolated a strip of rows at a time
(:func:`~diffuseradio.mosaic.regrid.input_grid_strips`) and blanked where the
input is.
"""

import numpy as np

from ..mosaic.reading import release_pages
from ..mosaic.regrid import input_grid_strips

__all__ = ["on_input_pixels"]


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
    for rows, strip in input_grid_strips(planes, matched, mosaic):
        strip[np.isnan(strip)] = 0
        strip[:, ~np.isfinite(mosaic.data[rows])] = np.nan
        release_pages(mosaic.data)
        out[:, rows] = strip
    return out if maps.ndim == 3 else out[0]
