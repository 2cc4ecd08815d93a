"""Segmentation losses for faint, rare diffuse emission.

Diffuse pixels are a few per cent of a survey field, so a plain
cross-entropy learns to say "background". The losses here add an overlap
term (soft Dice, or Tversky, which weighs misses more than false alarms) and
offer focal weighting of the cross-entropy. All take logits ``(N, K, H, W)``
and integer labels ``(N, H, W)``; ``K = 1`` means one sigmoid output, and
optional per-pixel ``weights`` ``(N, H, W)`` of the cross-entropy (see
:func:`~diffuseradio.training.pixel_weights`).
"""

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "segmentation_loss", "soft_dice", "tversky", "cross_entropy"]


def _probabilities_and_onehot(logits, labels):
    logits = logits.float()
    if logits.shape[1] == 1:
        probability = torch.sigmoid(logits)
        target = labels.unsqueeze(1).float()
        return probability, target
    probability = torch.softmax(logits, dim=1)
    target = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).float()
    # The background channel is left out of overlap losses.
    return probability[:, 1:], target[:, 1:]


def cross_entropy(logits, labels, weights=None, *, gamma=0.0):
    """Binary or multi-class cross-entropy, optionally focal (``gamma > 0``).

    With ``weights``, the weighted mean over pixels.
    """
    logits = logits.float()
    if logits.shape[1] == 1:
        target = labels.unsqueeze(1).float()
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    else:
        loss = F.cross_entropy(logits, labels, reduction="none")
    if gamma > 0:
        loss = focal(loss, gamma)
    if weights is None:
        return loss.mean()
    weights = weights.to(loss)
    if loss.ndim == 4:  # one sigmoid channel
        weights = weights.unsqueeze(1)
    return (loss * weights).sum() / weights.expand_as(loss).sum()


def focal(loss, gamma):
    """Per-element cross-entropy ``loss`` weighted by ``(1 - p_true) ** gamma``
    (``p_true = exp(-loss)``): confident, right answers count less."""
    return (1 - torch.exp(-loss)) ** gamma * loss


def tversky(logits, labels, *, alpha=0.3, beta=0.7, smooth=1.0):
    """Tversky loss ``1 - TP / (TP + alpha FP + beta FN)`` over the batch.

    ``alpha = beta = 0.5`` is the soft Dice loss; ``beta > alpha`` weighs
    missed diffuse pixels more than false alarms.
    """
    probability, target = _probabilities_and_onehot(logits, labels)
    dims = (0, 2, 3)
    tp = (probability * target).sum(dims)
    fp = (probability * (1 - target)).sum(dims)
    fn = ((1 - probability) * target).sum(dims)
    return (1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)).mean()


def soft_dice(logits, labels, *, smooth=1.0):
    """Soft Dice loss (Tversky with alpha = beta = 0.5)."""
    return tversky(logits, labels, alpha=0.5, beta=0.5, smooth=smooth)


#: Named losses of the ``[training] loss`` setting. ``"bce"`` (cross-entropy
#: alone) is the one whose gradient splits exactly over processes (DDP).
LOSSES = {
    "bce": cross_entropy,
    "bce_dice": lambda logits, labels, weights=None: (
        cross_entropy(logits, labels, weights) + soft_dice(logits, labels)
    ),
    "focal_dice": lambda logits, labels, weights=None: (
        cross_entropy(logits, labels, weights, gamma=2.0) + soft_dice(logits, labels)
    ),
    "tversky": lambda logits, labels, weights=None: (
        cross_entropy(logits, labels, weights) + tversky(logits, labels)
    ),
}


def segmentation_loss(name):
    """The loss function of a name in :data:`LOSSES`.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}") from None
