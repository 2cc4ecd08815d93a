"""Survey mosaics: reading radio images, their noise, regridding and tiling.

:class:`~diffuseradio.SurveyMosaic` is the one object the package reads images through.
The modules behind it are ``reading`` (every form an
input can take), ``noise`` (robust rms),
``regrid`` (convolution and resampling between grids
of one projection) and ``tiling`` (overlapping tiles
and their blended stitching, shared by training and inference).
"""

from .reading import JY_PER_BEAM
from .survey_mosaic import SurveyMosaic, Tile

__all__ = ["SurveyMosaic", "Tile", "JY_PER_BEAM"]
