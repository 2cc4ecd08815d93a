"""Cluster mode: from a cluster catalogue to halo and relic candidates.

:func:`classify_clusters` takes a catalogue of galaxy clusters (Planck PSZ2,
MCXC or any table with positions and redshifts) and survey mosaics, finds the
mosaic that covers each cluster, cuts out a box of fixed physical size around
it, runs a :class:`~diffuseradio.DiffuseDetector` on the box and reports, per
cluster, the probability that it hosts diffuse emission, the diffuse
detections near its centre with their physical properties, and coverage
flags. :func:`validate_scores` and :func:`~diffuseradio.plotting.plot_roc` compare the scores with
known labels the way the Radio U-Net paper does (accuracy, recall, precision,
ROC curve and AUC).

The cluster score
-----------------
The score of a cluster is the **maximum, within the aperture (``aperture``
times R500 from the catalogue position), of the probability map smoothed
with a Gaussian of one resolution element** (the larger of the model's
working beam and the image's beam, FWHM; blanked pixels are ignored).

- The maximum, not the mean, makes the score independent of how much of the
  aperture the emission fills: a small radio halo in a large, nearby cluster
  or a relic at the aperture's edge scores as high as a halo that fills it,
  and the score does not drift with redshift as the aperture's angular size
  does.
- The smoothing over one resolution element makes the score the probability
  of a beam-sized patch of emission rather than of one pixel, so isolated
  noisy pixels do not decide it, while any source of at least a beam keeps
  its probability. Diffuse emission is by definition larger than a beam.
- The score stays a probability in [0, 1] on the same scale as the
  detection threshold of the model, so ``score_threshold`` and the model
  card's threshold mean the same thing.
"""

from ..plotting import plot_roc
from .classify import classify_clusters, detections_in_aperture
from .columns import CLUSTER_FLAGS, decode_cluster_flags
from .physics import r500_from_m500, radio_power
from .validation import ScoreValidation, validate_scores

__all__ = [
    "classify_clusters",
    "detections_in_aperture",
    "radio_power",
    "r500_from_m500",
    "CLUSTER_FLAGS",
    "decode_cluster_flags",
    "ScoreValidation",
    "validate_scores",
    "plot_roc",
]
