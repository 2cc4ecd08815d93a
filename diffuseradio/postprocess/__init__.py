"""From the network's probability to labelled detections.

The stage after the network: :mod:`~diffuseradio.postprocess.labels`
thresholds the probability (with hysteresis and a minimum area) into labelled
regions; :mod:`~diffuseradio.postprocess.islands` is the island stage of
models whose card has one: islands of emission classified as a whole by a
second network, whose score raises the probability over the diffuse ones.
"""

from .islands import classifier_cutouts, find_islands, island_cutouts, paint_islands
from .labels import segment

__all__ = ["segment", "find_islands", "island_cutouts", "classifier_cutouts", "paint_islands"]
