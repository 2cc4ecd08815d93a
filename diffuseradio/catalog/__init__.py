"""Catalogues of diffuse-emission detections and the files they become.

:class:`DetectionCatalog` (:mod:`~diffuseradio.catalog.detections`) measures
each detection on the input pixels; :mod:`~diffuseradio.catalog.crossmatch`
matches detections with other catalogues;
:mod:`~diffuseradio.catalog.products` writes one image's ``STEM.*`` files
(for ``diffuseradio detect`` and surveys alike).
"""

from .crossmatch import crossmatch_table, read_catalogue, sky_coordinates
from .detections import FLAGS, DetectionCatalog, decode_flags
from .products import OUTPUTS, mosaic_stem, output_paths, write_outputs

__all__ = [
    "DetectionCatalog",
    "FLAGS",
    "decode_flags",
    "crossmatch_table",
    "read_catalogue",
    "sky_coordinates",
    "OUTPUTS",
    "mosaic_stem",
    "output_paths",
    "write_outputs",
]
