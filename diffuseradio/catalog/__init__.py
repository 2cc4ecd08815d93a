"""Catalogues of diffuse-emission detections and the files they become.

:class:`~diffuseradio.DetectionCatalog` (``detections``) measures
each detection on the input pixels, in the columns and with the quality flags
of ``columns``; ``crossmatch``
matches detections with other catalogues;
``products`` writes one image's ``STEM.*`` files
(for ``diffuseradio detect`` and surveys alike).
"""

from .columns import COLUMN_DESCRIPTIONS, FLAGS, decode_flags
from .crossmatch import crossmatch_table, read_catalogue, sky_coordinates
from .detections import DetectionCatalog
from .products import OUTPUTS, mosaic_stem, output_paths, write_outputs

__all__ = [
    "DetectionCatalog",
    "FLAGS",
    "COLUMN_DESCRIPTIONS",
    "decode_flags",
    "crossmatch_table",
    "read_catalogue",
    "sky_coordinates",
    "OUTPUTS",
    "mosaic_stem",
    "output_paths",
    "write_outputs",
]
