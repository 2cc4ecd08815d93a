"""Emission islands: the detector's second look, source by source.

The segmentation network decides pixel by pixel. For sources larger than
about a hundred working beams that works well, but a small halo, mini-halo
or relic covers only a few tens of beams, weighs little in a pixel loss,
and the network barely tells it from a radio galaxy of the same size. The
second stage therefore looks at each *island* as a whole, the way source
finders such as PyBDSF group emission:

1. :func:`find_islands`: connected regions of the tapered image above a
   seed S/N, grown down to a lower S/N, between a smallest and a largest
   area (in working beams);
2. :func:`island_cutouts`: a square cutout centred on each island's
   brightness-weighted centroid, of the network input (all its channels),
   the segmentation network's probability, and the island's own mask
   (which pixels are this island);
3. an :class:`~diffuseradio.models.IslandClassifier` gives each cutout the
   probability that the island is diffuse emission;
4. :func:`paint_islands`: that probability is written over the island's
   pixels wherever it exceeds the segmentation network's, so the
   thresholds, segmentation and catalogue that follow are unchanged.
   Optionally (``region_threshold``) the classifier's verdict also holds
   for the segmentation network's region around an island: a region
   mostly made of classified islands is capped at their best score, so
   that the lobes of a radio galaxy the classifier rejects are not
   detected by the segmentation network around its island.

Islands are found on the *normalised* input: a threshold in S/N is
turned into the normalisation's units (the normalisation is monotonic),
and the centroid is weighted by the normalised brightness, so bright cores
do not pull it away from extended emission.
"""

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from ..preprocess.normalization import normalize
from .labels import segment

__all__ = [
    "IslandStage",
    "island_stage",
    "find_islands",
    "island_cutouts",
    "classifier_cutouts",
    "paint_islands",
]


def find_islands(tapered, beam_area_pixels, settings, *, normalization=None):
    """Label the islands of emission of a normalised tapered image.

    Parameters
    ----------
    tapered : numpy.ndarray
        The tapered channel of the network input (2-D; NaN or 0 where
        blanked).
    beam_area_pixels : float
        Working beam area in pixels.
    settings : `~diffuseradio.models.IslandSettings`
    normalization : dict, optional
        The card's normalisation (``name`` and ``parameters``), which turns
        the S/N thresholds into the input's units (default ``snr_asinh``).

    Returns
    -------
    numpy.ndarray
        Labels 1..n (0: no island), in the integer type and numbered as
        :func:`~diffuseradio.postprocess.labels.segment` numbers regions.

    Examples
    --------
    >>> import numpy as np
    >>> from diffuseradio.models import IslandSettings
    >>> image = np.zeros((20, 20), np.float32)
    >>> image[2:6, 2:6] = 3.0   # an island (asinh(S/N / 3) = 3 is S/N ~ 30)
    >>> image[12:14, 12:14] = 3.0   # too small: 4 pixels < 1.5 beams
    >>> labels = find_islands(image, 4.0, IslandSettings(min_area_beams=1.5))
    >>> int(labels.max()), int((labels == 1).sum())
    (1, 16)
    """
    normalization = normalization or {}
    name = normalization.get("name", "snr_asinh")
    parameters = normalization.get("parameters")
    snr = np.array([settings.seed_snr, settings.grow_snr], dtype=np.float32)
    seed, grow = normalize(snr, np.float32(1.0), name=name, parameters=parameters).tolist()
    values = np.nan_to_num(np.asarray(tapered, dtype=np.float32), nan=-np.inf)
    labels = segment(
        values,
        seed,
        min_area=settings.min_area_beams * beam_area_pixels,
        low_threshold=grow,
    )
    area = np.bincount(labels.ravel())
    too_large = area > settings.max_area_beams * beam_area_pixels
    too_large[0] = False
    if too_large.any():
        labels[too_large[labels]] = 0
    return labels


def island_cutouts(image, labels, size):
    """Square cutouts centred on each island, with the island's mask.

    Parameters
    ----------
    image : numpy.ndarray
        ``(C, H, W)``: the network input, tapered channel first, and any
        other maps to cut out with it (NaN is read as 0, as blanked input).
    labels : numpy.ndarray
        ``(H, W)`` island labels (:func:`find_islands`).
    size : int
        Side of the cutouts in pixels; beyond the image edge they are 0.

    Returns
    -------
    ids : numpy.ndarray
        The labels present, ascending.
    cutouts : numpy.ndarray
        float32 ``(len(ids), C + 1, size, size)``: the channels of
        ``image``, then 1 on the pixels of the island and 0 elsewhere.
    centres : numpy.ndarray
        ``(len(ids), 2)`` ``(y, x)`` centroids, weighted by the positive
        normalised brightness of the tapered channel (the cutout's pixel
        ``size // 2`` is the centroid rounded to the nearest pixel).
    """
    image = np.asarray(image, dtype=np.float32)
    ids = np.unique(labels[labels > 0])
    if not len(ids):
        return ids, np.zeros((0, image.shape[0] + 1, size, size), np.float32), np.zeros((0, 2))
    weight = np.clip(np.nan_to_num(image[0], nan=0.0), 0, None)
    weight = np.where(labels > 0, weight + 1e-6, 0)  # a flat island still has a centre
    total = ndimage.sum(weight, labels, ids)
    rows, columns = np.indices(labels.shape, sparse=True)
    centres = np.stack(
        [
            ndimage.sum(weight * rows, labels, ids) / total,
            ndimage.sum(weight * columns, labels, ids) / total,
        ],
        axis=1,
    )
    cutouts = np.stack(
        [
            _cutout(image, labels, ident, centre, size)
            for ident, centre in zip(ids, np.rint(centres).astype(int))
        ]
    )
    return ids, cutouts, centres


def _cutout(image, labels, ident, centre, size):
    """``(C + 1, size, size)`` cutout of ``image`` and of island ``ident``'s mask (NaN -> 0)."""
    cutout = np.zeros((image.shape[0] + 1, size, size), np.float32)
    source, target = _overlap(np.asarray(centre) - size // 2, size, labels.shape)
    cutout[:-1][(slice(None), *target)] = image[(slice(None), *source)]
    cutout[-1][target] = labels[source] == ident
    return np.nan_to_num(cutout, copy=False, nan=0.0)


def classifier_cutouts(image, probability, beam_area_pixels, settings, *, normalization=None):
    """The islands of a network input and their cutouts for the island classifier.

    The one path from a normalised input and the segmentation network's
    probability to the classifier's input, shared by the detector and by
    training, so that the classifier learns on what it is later given.

    Parameters
    ----------
    image : numpy.ndarray
        ``(C, H, W)`` network input, tapered channel first
        (:func:`~diffuseradio.preprocess.inputs.model_input`).
    probability : numpy.ndarray
        ``(H, W)`` probability of diffuse emission on the same grid.
    beam_area_pixels : float
        Working beam area in pixels.
    settings : `~diffuseradio.models.IslandSettings`
    normalization : dict, optional
        The card's normalisation (see :func:`find_islands`).

    Returns
    -------
    labels : numpy.ndarray
        ``(H, W)`` island labels (:func:`find_islands`).
    ids : numpy.ndarray
        The islands present, ascending.
    cutouts : numpy.ndarray
        float32 ``(len(ids), C + 2, S, S)``: the channels of ``image``, the
        probability and the island's mask (:func:`island_cutouts`).
    """
    labels = find_islands(image[0], beam_area_pixels, settings, normalization=normalization)
    stacked = np.concatenate([image, probability[None]])
    ids, cutouts, _ = island_cutouts(stacked, labels, settings.cutout_pixels)
    return labels, ids, cutouts


class IslandStage(NamedTuple):
    """What the island stage found and made of it (see :func:`island_stage`)."""

    #: ``(H, W)`` island labels (0: none).
    labels: np.ndarray
    #: The islands the classifier scored, ascending.
    ids: np.ndarray
    #: Their probability of being diffuse emission.
    scores: np.ndarray
    #: The segmentation network's probability raised (and capped) by the scores.
    probability: np.ndarray


def island_stage(image, probability, beam_area_pixels, settings, classify, *, normalization=None):
    """The island stage of a model: find, cut out, classify and paint the islands.

    Parameters
    ----------
    image : numpy.ndarray
        ``(C, H, W)`` network input, tapered channel first.
    probability : numpy.ndarray
        ``(H, W)`` the segmentation network's probability of diffuse emission.
    beam_area_pixels : float
        Working beam area in pixels.
    settings : `~diffuseradio.models.IslandSettings`
    classify : callable
        ``classify(cutouts) -> scores``: the island classifier
        (e.g. :func:`~diffuseradio.models.classify_cutouts` with the model's).
    normalization : dict, optional
        The card's normalisation (see :func:`find_islands`).

    Returns
    -------
    IslandStage
    """
    labels, ids, cutouts = classifier_cutouts(
        image, probability, beam_area_pixels, settings, normalization=normalization
    )
    scores = classify(cutouts)
    painted = paint_islands(
        probability,
        labels,
        ids,
        scores,
        region_threshold=settings.region_threshold,
        region_cover=settings.region_cover,
    )
    return IslandStage(labels, ids, scores, painted)


def _overlap(corner, size, shape):
    """Slices of the image and of a cutout (``corner``, ``size``) that overlap."""
    source, target = [], []
    for start, length in zip(corner, shape):
        low, high = max(start, 0), min(start + size, length)
        source.append(slice(low, high))
        target.append(slice(low - start, high - start))
    return tuple(source), tuple(target)


def paint_islands(probability, labels, ids, scores, *, region_threshold=None, region_cover=0.3):
    """Raise the probability over each island to the island's score.

    Parameters
    ----------
    probability : numpy.ndarray
        ``(H, W)`` probability of diffuse emission (not modified).
    labels : numpy.ndarray
        ``(H, W)`` island labels.
    ids, scores : numpy.ndarray
        The classified islands and their probability of being diffuse.
    region_threshold : float, optional
        Also let the islands' verdict hold for the regions around them:
        each connected region where ``probability >= region_threshold``,
        with at least ``region_cover`` of its pixels on classified islands,
        is first capped at the highest score among those islands.
    region_cover : float, optional
        Fraction of a region's pixels on islands for its cap (0.3).

    Returns
    -------
    numpy.ndarray
        ``max(probability, score of the pixel's island)``, after the cap
        of the regions if asked; unchanged outside islands and capped
        regions.

    Examples
    --------
    >>> import numpy as np
    >>> probability = np.full((1, 6), 0.99)  # one region
    >>> labels = np.array([[1, 1, 1, 0, 0, 0]])  # half of it an island
    >>> paint_islands(probability, labels, [1], [0.2]).round(2).tolist()
    [[0.99, 0.99, 0.99, 0.99, 0.99, 0.99]]
    >>> paint_islands(probability, labels, [1], [0.2], region_threshold=0.5).round(2).tolist()
    [[0.2, 0.2, 0.2, 0.2, 0.2, 0.2]]
    """
    lookup = np.zeros(int(labels.max()) + 1, dtype=np.float32)
    lookup[np.asarray(ids, dtype=int)] = scores
    score = lookup[labels]
    if region_threshold is not None:
        probability = np.minimum(
            probability, _region_caps(probability, labels, score, region_threshold, region_cover)
        )
    return np.maximum(probability, score).astype(probability.dtype, copy=False)


def _region_caps(probability, labels, score, threshold, cover):
    """Per pixel, the cap of its region (1 where no cap applies)."""
    regions, count = ndimage.label(probability >= threshold)
    caps = np.ones(count + 1, np.float32)
    if count:
        index = np.arange(1, count + 1)
        on_islands = np.asarray(ndimage.mean(labels > 0, regions, index)) >= cover
        best = np.asarray(ndimage.maximum(np.where(labels > 0, score, 0), regions, index))
        caps[1:][on_islands] = best[on_islands]
    return caps[regions]
