"""The island classifier: is this island of emission diffuse?

A small convolutional network on a square cutout centred on one island
(:mod:`diffuseradio.islands`) of the network input, the segmentation
network's probability and the island's mask: the U-Net encoder's
blocks at three resolutions, then a two-layer perceptron on the whole
feature map, so that *where* a feature lies relative to the island's
centre counts (a core at the centre, lobes either side, an arc off to one
side). One logit per cutout.

:class:`IslandEnsemble` averages the probabilities of several such
classifiers, each reading its own subset of the cutout channels (e.g. one
with the segmentation probability and one without, whose errors differ).
"""

import numpy as np
import torch
from torch import nn

from .device import inference_context, to_device
from .inference import DIHEDRAL
from .unet import Encoder

__all__ = ["IslandClassifier", "IslandEnsemble", "classify_cutouts"]


class IslandClassifier(nn.Module):
    """Probability that an island is diffuse emission, from its cutout.

    Parameters
    ----------
    in_channels : int
        Channels of the cutouts: the network input's (1 tapered, 2 with the
        native one), plus the probability and the island mask.
    cutout_pixels : int, optional
        Side of the cutouts (divisible by 4).
    widths : sequence of int, optional
        Channels of the three convolutional blocks.
    hidden : int, optional
        Units of the hidden layer.
    dropout : float, optional
        Dropout before the hidden layer (training only).
    """

    def __init__(self, in_channels, cutout_pixels=32, widths=(32, 64, 96), hidden=64, dropout=0.3):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"widths must be three positive integers, not {widths!r}")
        if cutout_pixels % 4:
            raise ValueError(f"cutout_pixels must be divisible by 4, not {cutout_pixels}")
        self.in_channels = int(in_channels)
        self.encoder = Encoder(in_channels, widths, norm="batch")
        features = widths[-1] * (cutout_pixels // 4) ** 2
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(features, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x):
        """Logits ``(N,)`` of cutouts ``(N, C, S, S)``."""
        return self.head(self.encoder(x)[-1])[:, 0]


class IslandEnsemble(nn.Module):
    """Island classifiers that each read some cutout channels; their probabilities averaged.

    Parameters
    ----------
    members : sequence of IslandClassifier
    channels : sequence of sequence of int
        For each member, the indices of the cutout channels it reads, in
        its input order.

    Notes
    -----
    :meth:`forward` returns the logit of the members' mean probability, so
    that an ensemble stands wherever one classifier does
    (:func:`classify_cutouts` applies the sigmoid); averaging over test-time
    augmentations then averages each member's augmented probabilities.
    """

    def __init__(self, members, channels):
        super().__init__()
        if len(members) != len(channels) or not len(members):
            raise ValueError("an ensemble needs one channel list per member, and a member")
        self.members = nn.ModuleList(members)
        self.channels = [[int(c) for c in member] for member in channels]
        for member, indices in zip(self.members, self.channels):
            reads = member.in_channels
            if len(indices) != reads or len(set(indices)) != len(indices) or min(indices) < 0:
                raise ValueError(
                    f"a member reading {reads} channels got the channel indices {indices}"
                )

    def forward(self, x):
        """Logits ``(N,)`` of the mean probability, from cutouts ``(N, C, S, S)``."""
        mean = 0
        for member, indices in zip(self.members, self.channels):
            mean = mean + torch.sigmoid(member(x[:, indices]).float())
        return torch.logit(mean / len(self.members), eps=1e-6)


def classify_cutouts(
    classifier, cutouts, *, batch_size=256, device="cpu", precision="fp32", augment=False
):
    """Probabilities of a batch of island cutouts.

    Parameters
    ----------
    classifier : IslandClassifier
    cutouts : numpy.ndarray
        ``(N, C, S, S)`` float32.
    batch_size : int, optional
    device : str or torch.device, optional
    precision : str or torch.dtype, optional
        ``"fp32"`` or ``"bf16"`` (autocast).
    augment : bool, optional
        Average the probability over the 8 rotations and flips.

    Returns
    -------
    numpy.ndarray
        float32 ``(N,)``.
    """
    cutouts = np.asarray(cutouts, dtype=np.float32)
    if not len(cutouts):
        return np.zeros(0, np.float32)
    device = torch.device(device)
    classifier = to_device(classifier, device).eval()
    views = DIHEDRAL if augment else DIHEDRAL[:1]
    out = []
    with inference_context(device, precision):
        for start in range(0, len(cutouts), batch_size):
            batch = to_device(torch.from_numpy(cutouts[start : start + batch_size]), device)
            total = 0
            for k, flip in views:
                view = torch.rot90(batch, k, dims=(2, 3))
                view = torch.flip(view, dims=(3,)) if flip else view
                total = total + torch.sigmoid(classifier(view).float())
            out.append((total / len(views)).cpu().numpy())
    return np.concatenate(out).astype(np.float32)
