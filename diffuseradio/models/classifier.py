"""The island classifier: is this island of emission diffuse?

A small convolutional network on a square cutout centred on one island
(:mod:`diffuseradio.islands`) of the network input, the segmentation
network's probability and the island's mask: the U-Net encoder's
blocks at three resolutions, then a two-layer perceptron on the whole
feature map, so that *where* a feature lies relative to the island's
centre counts (a core at the centre, lobes either side, an arc off to one
side). One logit per cutout.
"""

import numpy as np
import torch
import torch.nn.functional as F
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
    subpixels : tuple of int, optional
        ``(first, factor)`` when the cutouts hold sub-pixel channels
        (:func:`~diffuseradio.islands.subpixel_slot`): rotations and flips
        of the cutouts then move the sub-pixels too (:func:`dihedral`).
    """

    def __init__(
        self,
        in_channels,
        cutout_pixels=32,
        widths=(32, 64, 96),
        hidden=64,
        dropout=0.3,
        subpixels=None,
    ):
        super().__init__()
        self.subpixels = _checked_slot(subpixels, in_channels)
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


def _checked_slot(subpixels, channels):
    """``subpixels`` as a tuple, checked against the number of cutout channels."""
    if subpixels is None:
        return None
    first, factor = (int(v) for v in subpixels)
    if first < 0 or factor < 2 or first + factor**2 > channels:
        raise ValueError(
            f"sub-pixel channels ({first}, {factor}) do not fit in {channels} cutout channels"
        )
    return first, factor


def dihedral(cutouts, rotations, flip, subpixels=None):
    """Cutouts rotated by ``rotations`` quarter turns, then flipped left-right.

    Parameters
    ----------
    cutouts : torch.Tensor
        ``(N, C, S, S)``.
    rotations : int
    flip : bool
    subpixels : tuple of int, optional
        ``(first, factor)``: channels ``first .. first + factor**2 - 1`` are
        the sub-pixels of one finer image (space to depth); they are
        rotated as that image, so each sub-pixel lands where the rotation
        takes it.

    Returns
    -------
    torch.Tensor
    """

    def turn(x):
        x = torch.rot90(x, rotations, dims=(2, 3))
        return torch.flip(x, dims=(3,)) if flip else x

    if subpixels is None:
        return turn(cutouts)
    first, factor = subpixels
    last = first + factor**2
    fine = F.pixel_unshuffle(turn(F.pixel_shuffle(cutouts[:, first:last], factor)), factor)
    return torch.cat([turn(cutouts[:, :first]), fine, turn(cutouts[:, last:])], dim=1)


def classify_cutouts(
    classifier, cutouts, *, batch_size=256, device="cpu", precision="fp32", augment=False
):
    """Probabilities of a batch of island cutouts.

    Parameters
    ----------
    classifier : IslandClassifier
        Or any module that maps cutouts ``(N, C, S, S)`` to logits ``(N,)``;
        its ``subpixels`` attribute, when it has one, places the sub-pixel
        channels (:func:`dihedral`).
    cutouts : numpy.ndarray
        ``(N, C, S, S)`` float32.
    batch_size : int, optional
    device : str or torch.device, optional
    precision : str or torch.dtype, optional
        ``"fp32"`` or ``"bf16"`` (autocast).
    augment : bool, optional
        Average the probability over the 8 rotations and flips
        (:func:`dihedral`, sub-pixel channels included).

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
    subpixels = getattr(classifier, "subpixels", None)
    out = []
    with inference_context(device, precision):
        for start in range(0, len(cutouts), batch_size):
            batch = to_device(torch.from_numpy(cutouts[start : start + batch_size]), device)
            total = 0
            for k, flip in views:
                view = dihedral(batch, k, flip, subpixels)
                total = total + torch.sigmoid(classifier(view).float())
            out.append((total / len(views)).cpu().numpy())
    return np.concatenate(out).astype(np.float32)
