"""From the network's probability to labelled detections.

The stage after the network: :mod:`~diffuseradio.postprocess.islands` is the
island stage of models whose card has one (islands of emission classified as
a whole by a second network, whose score raises the probability over the
diffuse ones); :mod:`~diffuseradio.postprocess.input_grid` brings the
probabilities back to the input's pixels (whole, or where they are read:
:class:`~diffuseradio.postprocess.InputGridMap`); :mod:`~diffuseradio.postprocess.labels`
thresholds them (with hysteresis and a minimum area) into labelled regions.
"""

from .input_grid import InputGridMap, on_input_pixels
from .islands import (
    IslandStage,
    classifier_cutouts,
    find_islands,
    island_cutouts,
    island_stage,
    paint_islands,
)
from .labels import segment

__all__ = [
    "island_stage",
    "IslandStage",
    "on_input_pixels",
    "InputGridMap",
    "segment",
    "paint_islands",
    "classifier_cutouts",
    "island_cutouts",
    "find_islands",
]
