"""Validation metrics: pixel overlap and object-level completeness and purity.

Pixel metrics compare the thresholded probability map with the truth map.
Object metrics follow what an astronomer counts, on the simulator's objects:

- a diffuse object (halo, relic, bridge) is **found** when at least
  ``coverage`` (20 %) of its truth region lies inside detections; it is
  binned by its integrated S/N against the thermal noise and, separately,
  against the local noise with the calibration artefacts (the simulator's
  ``integrated_snr`` and ``local_snr``);
- a detection is **true** when at least ``coverage`` of its pixels are
  diffuse in the truth map; purity is the fraction of true detections;
- a radio galaxy is **taken for diffuse emission** when at least
  ``coverage`` of its region (outside any diffuse truth) lies inside
  detections.

An object's region is where its own beam-convolved model is above the
truth threshold (``SimulatedField.instances``). Counts are returned so that
they add up over many fields (:meth:`ObjectCounts.__add__`).
"""

from dataclasses import dataclass, field

import numpy as np
from astropy.stats import binom_conf_interval
from scipy.stats import mannwhitneyu

__all__ = [
    "pixel_counts",
    "pixel_scores",
    "ObjectCounts",
    "object_coverage",
    "roc_auc",
    "object_counts",
    "SNR_BINS",
    "SIZE_BINS",
    "OPERATING_THRESHOLDS",
    "object_f1",
    "operating_point",
    "binomial_interval",
]

#: Edges of the integrated-S/N bins of the completeness.
SNR_BINS = (0.0, 3.0, 5.0, 8.0, 15.0, 30.0, np.inf)

#: Edges of the size bins of the completeness: area of the object region in
#: beams (a point source's region covers about ``ln(peak S/N) / ln 2`` beams).
SIZE_BINS = (0.0, 10.0, 30.0, 100.0, 300.0, np.inf)


#: Probability thresholds searched for the operating point (:func:`operating_point`):
#: 0.3 to 0.95 in steps of 0.05, then 0.97, 0.98 and 0.99 for models whose
#: island stage pushes confident detections close to 1.
OPERATING_THRESHOLDS = (*np.round(np.arange(0.3, 0.951, 0.05), 2).tolist(), 0.97, 0.98, 0.99)


def roc_auc(positive, negative):
    """Area under the ROC curve of scores ``positive`` against ``negative``.

    The probability that a random positive scores higher than a random
    negative (ties count half): the Mann-Whitney U statistic over the
    number of pairs.

    Parameters
    ----------
    positive, negative : array_like
        Scores of the two groups.

    Returns
    -------
    float
        In [0, 1]; NaN when either group is empty.

    Examples
    --------
    >>> roc_auc([0.9, 0.8], [0.1, 0.85])
    0.75
    """
    positive, negative = np.ravel(positive), np.ravel(negative)
    if not (positive.size and negative.size):
        return float("nan")
    return float(mannwhitneyu(positive, negative).statistic / (positive.size * negative.size))


def binomial_interval(successes, trials, confidence=0.6827):
    """Wilson score interval of a fraction counted on ``trials`` objects.

    Completeness, purity and the radio-galaxy rate are fractions of a few
    hundred objects at most: their spread from one set of fields to another
    is the binomial one, which this interval states.

    Parameters
    ----------
    successes, trials : int
    confidence : float, optional
        Probability the interval covers the true fraction (0.6827: "1 sigma").

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when there is nothing to count.
    """
    if trials == 0:
        return (float("nan"), float("nan"))
    low, high = binom_conf_interval(successes, trials, confidence, interval="wilson")
    return (float(low), float(high))


def object_f1(completeness, purity):
    """Harmonic mean of completeness and purity; 0 when either is 0 or undefined (NaN)."""
    if not (completeness > 0 and purity > 0):
        return 0.0
    return 2 * completeness * purity / (completeness + purity)


def operating_point(counts, max_radio_galaxy_rate=0.1, min_purity=None):
    """The threshold a catalogue would be made at: best F1 within a radio-galaxy budget.

    Parameters
    ----------
    counts : dict
        ``{threshold: ObjectCounts}`` over the same fields; any sortable keys
        (e.g. ``(threshold, low_threshold, min_area)``) work.
    max_radio_galaxy_rate : float, optional
        Largest fraction of radio galaxies taken for diffuse emission.
    min_purity : float, optional
        Instead of the best F1, the most complete point (integrated S/N >=
        8; the higher F1 on ties) among those within the budget and at
        least this pure.

    Returns
    -------
    threshold : key of ``counts`` or None
        The key of the highest :func:`object_f1` (completeness at
        integrated S/N >= 8 and purity) among those within the budget, or
        of the most complete with ``min_purity``; the lowest such key on
        ties; None when none is within it.
    summary : dict
        Its ``completeness_snr_ge_8``, ``purity``,
        ``radio_galaxy_false_positive_rate`` and ``f1`` (NaN and F1 0 when
        none is within the budget).
    """
    best, best_summary = None, None
    for threshold in sorted(counts):
        total = counts[threshold]
        rate = total.radio_galaxy_false_positive_rate
        if rate > max_radio_galaxy_rate:  # NaN (no radio galaxies) passes
            continue
        summary = {
            "completeness_snr_ge_8": total.completeness(8.0),
            "purity": total.purity,
            "radio_galaxy_false_positive_rate": rate,
        }
        summary["f1"] = object_f1(summary["completeness_snr_ge_8"], summary["purity"])
        if min_purity is not None and not summary["purity"] >= min_purity:
            continue
        if best_summary is None or _rank(summary, min_purity) > _rank(best_summary, min_purity):
            best, best_summary = threshold, summary
    if best_summary is None:
        nan = float("nan")
        best_summary = {
            "completeness_snr_ge_8": nan,
            "purity": nan,
            "radio_galaxy_false_positive_rate": nan,
            "f1": 0.0,
        }
    return best, best_summary


def _rank(summary, min_purity):
    """What :func:`operating_point` maximises: F1, or completeness then F1."""
    if min_purity is None:
        return (summary["f1"],)
    return (np.nan_to_num(summary["completeness_snr_ge_8"], nan=-1.0), summary["f1"])


def pixel_counts(predicted, truth):
    """True-positive, false-positive and false-negative pixel counts.

    Parameters
    ----------
    predicted, truth : numpy.ndarray
        Boolean maps of diffuse pixels.

    Returns
    -------
    numpy.ndarray
        ``[tp, fp, fn]`` as int64.
    """
    predicted = np.asarray(predicted, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    return np.array(
        [(predicted & truth).sum(), (predicted & ~truth).sum(), (~predicted & truth).sum()],
        dtype=np.int64,
    )


def pixel_scores(counts):
    """IoU, Dice, precision and recall from ``[tp, fp, fn]`` counts."""
    tp, fp, fn = (float(c) for c in counts)
    return {
        "iou": tp / max(tp + fp + fn, 1.0),
        "dice": 2 * tp / max(2 * tp + fp + fn, 1.0),
        "precision": tp / max(tp + fp, 1.0),
        "recall": tp / max(tp + fn, 1.0),
    }


@dataclass
class ObjectCounts:
    """Object-level counts over one or many fields.

    Attributes
    ----------
    found, total : dict
        ``{(kind, snr_bin, size_bin, local_snr_bin): count}`` of detectable
        and found diffuse objects (bins of ``SNR_BINS`` for the integrated and
        the local S/N, and of ``SIZE_BINS``).
    detections, true_detections : int
    radio_galaxies, radio_galaxies_as_diffuse : int
    """

    found: dict = field(default_factory=dict)
    total: dict = field(default_factory=dict)
    detections: int = 0
    true_detections: int = 0
    radio_galaxies: int = 0
    radio_galaxies_as_diffuse: int = 0

    def __add__(self, other):
        merged = ObjectCounts()
        for name in ("found", "total"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(merged, name, {k: mine.get(k, 0) + theirs.get(k, 0) for k in {*mine, *theirs}})
        for name in (
            "detections",
            "true_detections",
            "radio_galaxies",
            "radio_galaxies_as_diffuse",
        ):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        return merged

    def completeness(self, min_snr=0.0, kind=None, size_bin=None, *, local=False):
        """Fraction of diffuse objects found, with integrated S/N >= ``min_snr``.

        Parameters
        ----------
        min_snr : float, optional
            Lowest integrated S/N counted (an edge of ``SNR_BINS``).
        kind : str, optional
            Only objects of this kind (``"halo"``, ``"relic"``, ...).
        size_bin : int, optional
            Only objects in this bin of ``SIZE_BINS``.
        local : bool, optional
            Count by the S/N against the local noise with the calibration
            artefacts instead of the thermal noise alone.
        """
        found, total = self.found_of(min_snr, kind, size_bin, local=local)
        return found / total if total else float("nan")

    def found_of(self, min_snr=0.0, kind=None, size_bin=None, *, local=False):
        """Numbers of diffuse objects found and counted, as selected by :meth:`completeness`.

        Returns
        -------
        found, total : int
        """
        snr_index = 3 if local else 1
        keys = [
            key
            for key in self.total
            if SNR_BINS[key[snr_index]] >= min_snr
            and (kind is None or key[0] == kind)
            and (size_bin is None or key[2] == size_bin)
        ]
        return self._found_and_total(keys)

    def _found_and_total(self, keys):
        return sum(self.found.get(k, 0) for k in keys), sum(self.total[k] for k in keys)

    def _fraction_found(self, keys):
        found, total = self._found_and_total(keys)
        return found / total if total else float("nan")

    def headline_counts(self):
        """The counts behind the headline fractions.

        Returns
        -------
        dict
            ``{name: (successes, trials)}`` for ``completeness_snr_ge_8``,
            ``completeness_local_snr_ge_8``, ``purity`` and
            ``radio_galaxy_false_positive_rate`` (the names of :meth:`summary`).
        """
        return {
            "completeness_snr_ge_8": self.found_of(8.0),
            "completeness_local_snr_ge_8": self.found_of(8.0, local=True),
            "purity": (self.true_detections, self.detections),
            "radio_galaxy_false_positive_rate": (
                self.radio_galaxies_as_diffuse,
                self.radio_galaxies,
            ),
        }

    def intervals(self, confidence=0.6827):
        """Binomial intervals (:func:`binomial_interval`) of the headline fractions.

        Parameters
        ----------
        confidence : float, optional

        Returns
        -------
        dict
            ``{name: (low, high)}``, names as in :meth:`headline_counts`.
        """
        return {
            name: binomial_interval(*pair, confidence)
            for name, pair in self.headline_counts().items()
        }

    @property
    def purity(self):
        """Fraction of detections that are diffuse emission."""
        return self.true_detections / self.detections if self.detections else float("nan")

    @property
    def radio_galaxy_false_positive_rate(self):
        """Fraction of radio galaxies taken for diffuse emission."""
        if not self.radio_galaxies:
            return float("nan")
        return self.radio_galaxies_as_diffuse / self.radio_galaxies

    def summary(self):
        """A flat dictionary of the headline numbers (JSON-serialisable)."""
        bright, bright_locally = self.found_of(8.0), self.found_of(8.0, local=True)
        result = {
            "completeness_snr_ge_8": self.completeness(8.0),
            "completeness_local_snr_ge_8": self.completeness(8.0, local=True),
            "completeness_snr_ge_5": self.completeness(5.0),
            "completeness_all": self.completeness(0.0),
            "purity": self.purity,
            "radio_galaxy_false_positive_rate": self.radio_galaxy_false_positive_rate,
            "n_diffuse_objects": int(sum(self.total.values())),
            "n_detections": self.detections,
            "n_radio_galaxies": self.radio_galaxies,
            "n_snr_ge_8": bright[1],
            "n_found_snr_ge_8": bright[0],
            "n_local_snr_ge_8": bright_locally[1],
            "n_found_local_snr_ge_8": bright_locally[0],
            "n_true_detections": self.true_detections,
            "n_radio_galaxies_as_diffuse": self.radio_galaxies_as_diffuse,
        }
        for kind in sorted({key[0] for key in self.total}):
            result[f"completeness_snr_ge_8_{kind}"] = self.completeness(8.0, kind)
        for index in range(len(SNR_BINS) - 1):
            low, high = SNR_BINS[index], SNR_BINS[index + 1]
            keys = [k for k in self.total if k[1] == index]
            result[f"completeness_snr_{low:g}_{high:g}"] = self._fraction_found(keys)
        for index in range(len(SIZE_BINS) - 1):
            low, high = SIZE_BINS[index], SIZE_BINS[index + 1]
            label = f"completeness_snr_ge_8_beams_{low:g}_{high:g}"
            result[label] = self.completeness(8.0, size_bin=index)
        return result


def object_coverage(segmentation, field):
    """Fraction of each object's region that lies inside detections.

    Parameters
    ----------
    segmentation : numpy.ndarray
        int labels of the detections on the field's grid (0 = none).
    field : diffuseradio.simulate.SimulatedField
        Needs ``truth``, ``objects`` and ``instances``.

    Returns
    -------
    numpy.ndarray
        float, one value per row of ``field.objects`` (a radio galaxy's
        region without the pixels of diffuse truth); NaN for an object
        without region pixels.
    """
    detected = segmentation > 0
    instances = np.where(field.truth > 0, 0, field.instances)
    n_ids = int(field.instances.max()) + 1
    diffuse_sizes = np.bincount(field.instances.ravel(), minlength=n_ids)
    diffuse_hits = np.bincount(field.instances[detected], minlength=n_ids)
    other_sizes = np.bincount(instances.ravel(), minlength=n_ids)
    other_hits = np.bincount(instances[detected], minlength=n_ids)
    fractions = np.full(len(field.objects), np.nan)
    for index, row in enumerate(field.objects):
        ident = int(row["id"])
        if ident >= n_ids or ident == 0:
            continue
        diffuse = row["class_id"] > 0
        size = (diffuse_sizes if diffuse else other_sizes)[ident]
        if size:
            fractions[index] = (diffuse_hits if diffuse else other_hits)[ident] / size
    return fractions


def object_counts(segmentation, field, *, coverage=0.2):
    """Count found objects, true detections and radio galaxies taken for diffuse.

    Parameters
    ----------
    segmentation : numpy.ndarray
        int labels of the detections on the field's grid (0 = none).
    field : diffuseradio.simulate.SimulatedField
        Needs ``truth``, ``objects`` and ``instances``.
    coverage : float, optional
        Fraction of overlap that counts (see the module docstring).

    Returns
    -------
    ObjectCounts
    """
    counts = ObjectCounts()
    fractions = object_coverage(segmentation, field)
    for row, fraction in zip(field.objects, fractions):
        if np.isnan(fraction):
            continue
        if row["class_id"] > 0:
            if not row["detectable"]:
                continue
            key = (
                str(row["kind"]),
                _bin(SNR_BINS, row["integrated_snr"]),
                _bin(SIZE_BINS, row["n_beams"]),
                _bin(SNR_BINS, row["local_snr"]),
            )
            counts.total[key] = counts.total.get(key, 0) + 1
            if fraction >= coverage:
                counts.found[key] = counts.found.get(key, 0) + 1
        else:
            counts.radio_galaxies += 1
            if fraction >= coverage:
                counts.radio_galaxies_as_diffuse += 1
    detected = segmentation > 0
    labels = segmentation[detected]
    if labels.size:
        area = np.bincount(labels)
        on_truth = np.bincount(segmentation[detected & (field.truth > 0)], minlength=area.size)
        present = area > 0
        counts.detections = int(present.sum())
        counts.true_detections = int((on_truth[present] >= coverage * area[present]).sum())
    return counts


def _bin(edges, value):
    return int(np.searchsorted(edges, value, side="right") - 1)
