"""The island classifier: is this island of emission diffuse?

A small convolutional network on a square cutout centred on one island
(:mod:`diffuseradio.postprocess.islands`) of the network input, the segmentation
network's probability and the island's mask: the U-Net encoder's
blocks at three resolutions, then a two-layer perceptron on the whole
feature map, so that *where* a feature lies relative to the island's
centre counts (a core at the centre, lobes either side, an arc off to one
side). One logit per cutout.
"""

import numpy as np
import torch
from torch import nn

from .device import inference_context, to_device
from .inference import DIHEDRAL
from .unet import Encoder

__all__ = ["IslandClassifier", "classify_cutouts", "dihedral"]


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

    def __init__(
        self,
        in_channels,
        cutout_pixels=32,
        widths=(32, 64, 96),
        hidden=64,
        dropout=0.3,
    ):
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


def dihedral(cutouts, rotations, flip):
    """Cutouts rotated by ``rotations`` quarter turns, then flipped left-right.

    Parameters
    ----------
    cutouts : torch.Tensor
        ``(N, C, S, S)``.
    rotations : int
    flip : bool

    Returns
    -------
    torch.Tensor
    """
    cutouts = torch.rot90(cutouts, rotations, dims=(2, 3))
    return torch.flip(cutouts, dims=(3,)) if flip else cutouts


def classify_cutouts(
    classifier, cutouts, *, batch_size=256, device="cpu", precision="fp32", augment=False
):
    """Probabilities of a batch of island cutouts.

    Parameters
    ----------
    classifier : IslandClassifier
        Or any module that maps cutouts ``(N, C, S, S)`` to logits ``(N,)``.
    cutouts : numpy.ndarray
        ``(N, C, S, S)`` float32.
    batch_size : int, optional
    device : str or torch.device, optional
    precision : str or torch.dtype, optional
        ``"fp32"`` or ``"bf16"`` (autocast).
    augment : bool, optional
        Average the probability over the 8 rotations and flips
        (:func:`dihedral`).

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
                view = dihedral(batch, k, flip)
                total = total + torch.sigmoid(classifier(view).float())
            out.append((total / len(views)).cpu().numpy())
    return np.concatenate(out).astype(np.float32)
