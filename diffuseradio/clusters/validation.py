"""Cluster scores against known labels: accuracy, recall, precision, ROC curve and AUC.

As the Radio U-Net paper validates its cluster classification;
:func:`~diffuseradio.plotting.plot_roc` draws the curve.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["ScoreValidation", "validate_scores"]


@dataclass(frozen=True)
class ScoreValidation:
    """How well cluster scores separate clusters with and without diffuse emission.

    Attributes
    ----------
    threshold : float
        The threshold the counts and rates below refer to (score >= threshold
        means "has diffuse emission").
    accuracy, recall, precision : float
        At ``threshold``; precision is NaN when nothing is predicted positive.
    true_positives, false_positives, true_negatives, false_negatives : int
        At ``threshold``.
    fpr, tpr, thresholds : numpy.ndarray
        The ROC curve: false- and true-positive rates when predicting
        positive for scores >= ``thresholds`` (decreasing, starting at
        ``inf``, one point per distinct score).
    auc : float
        Area under the ROC curve (tied scores count one half).
    best_threshold : float
        The threshold (one of the scores) that maximises the accuracy; the
        highest one when several do.
    best_accuracy : float
        The accuracy there.
    """

    threshold: float
    accuracy: float
    recall: float
    precision: float
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    best_threshold: float
    best_accuracy: float


def validate_scores(scores, labels, *, threshold=0.5):
    """Accuracy, recall, precision, ROC curve and AUC of scores against known labels.

    Parameters
    ----------
    scores : array_like
        Cluster scores (e.g. the ``score`` column of :func:`classify_clusters`);
        NaN scores (clusters not covered) are left out.
    labels : array_like of bool
        True for the clusters known to host diffuse emission.
    threshold : float, optional
        Operating threshold of the accuracy, recall and precision.

    Returns
    -------
    ScoreValidation

    Raises
    ------
    ValueError
        If shapes differ, labels are not boolean (or 0/1), or there are no
        positives or no negatives among the finite scores.

    Examples
    --------
    >>> v = validate_scores([0.9, 0.8, 0.4, 0.3, 0.6], [True, True, False, False, False])
    >>> v.auc, v.accuracy, v.recall, v.precision
    (1.0, 0.8, 1.0, 0.6666666666666666)
    >>> v.best_threshold, v.best_accuracy
    (0.8, 1.0)
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(
            f"scores {scores.shape} and labels {labels.shape} must be 1-D of equal length"
        )
    if labels.dtype != bool and not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be booleans (or 0/1)")
    keep = np.isfinite(scores)
    scores, labels = scores[keep], labels[keep].astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"need clusters of both kinds; got {positives} positives and {negatives} negatives"
        )
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], labels[order]
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]  # end of each tie group
    tp = np.r_[0, np.cumsum(truth)[last]]
    fp = np.r_[0, last + 1 - tp[1:]]
    thresholds = np.r_[np.inf, ranked[last]]
    tpr, fpr = tp / positives, fp / negatives
    accuracy = (tp + negatives - fp) / scores.size
    best = int(np.argmax(accuracy))
    predicted = scores >= threshold
    counts = {
        "true_positives": int((predicted & labels).sum()),
        "false_positives": int((predicted & ~labels).sum()),
        "true_negatives": int((~predicted & ~labels).sum()),
        "false_negatives": int((~predicted & labels).sum()),
    }
    n_predicted = counts["true_positives"] + counts["false_positives"]
    return ScoreValidation(
        threshold=float(threshold),
        accuracy=float((predicted == labels).mean()),
        recall=counts["true_positives"] / positives,
        precision=counts["true_positives"] / n_predicted if n_predicted else np.nan,
        **counts,
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
        auc=float(np.trapezoid(tpr, fpr)),
        best_threshold=float(thresholds[best]),
        best_accuracy=float(accuracy[best]),
    )
