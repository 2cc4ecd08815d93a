"""The U-Net segmentation network and the building blocks it shares.

A U-Net (Ronneberger et al. 2015) as used for diffuse radio emission by
Radio U-Net (Stuardi et al. 2024): a convolutional encoder that halves the
resolution ``depth`` times while doubling the number of channels, a decoder
that upsamples back, concatenating the encoder features of the same
resolution (the skips), and a 1x1 convolution to per-class logits.
:class:`~diffuseradio.models.transunet.TransUNet` reuses the encoder and the
decoder defined here.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "NORMS",
    "UPSAMPLING",
    "ConvBlock",
    "Decoder",
    "Encoder",
    "UNet",
    "pad_to_multiple",
    "check_positive_int",
]

#: Normalisation layers a block can use (None: no normalisation, biased convs).
NORMS = ("batch", "group", "instance", None)
#: Ways the decoder can double the resolution.
UPSAMPLING = ("transpose", "bilinear")

_MAX_GROUPS = 8


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")


def check_positive_int(name, value):
    """Refuse an architecture argument that is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _norm_layer(norm, channels):
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(math.gcd(channels, _MAX_GROUPS), channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by normalisation and ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    norm : {"batch", "group", "instance", None}, optional
        Normalisation after each convolution ("group" uses up to 8 groups).
    dropout : float, optional
        Probability of the channel dropout between the two convolutions.
    """

    def __init__(self, in_channels, out_channels, norm="batch", dropout=0.0):
        bias = norm is None
        layers = [
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias),
            _norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        layers += [
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=bias),
            _norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
        ]
        super().__init__(*layers)


class Encoder(nn.Module):
    """Convolutional encoder: a block, then ``depth`` times max-pool + block.

    Parameters
    ----------
    in_channels : int
        Input channels.
    widths : sequence of int
        Channels at each resolution, full resolution first; ``len(widths) - 1``
        is the number of halvings.
    norm, dropout
        See :class:`ConvBlock`.
    """

    def __init__(self, in_channels, widths, norm="batch", dropout=0.0):
        super().__init__()
        self.stem = ConvBlock(in_channels, widths[0], norm, dropout)
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), ConvBlock(cin, cout, norm, dropout))
            for cin, cout in zip(widths[:-1], widths[1:], strict=True)
        )

    def forward(self, x):
        """Return the features at every resolution, full resolution first."""
        features = [self.stem(x)]
        for down in self.downs:
            features.append(down(features[-1]))
        return features


class _Up(nn.Module):
    """Double the resolution and change the number of channels."""

    def __init__(self, in_channels, out_channels, upsampling):
        super().__init__()
        if upsampling == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        else:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )

    def forward(self, x):
        return self.up(x)


class Decoder(nn.Module):
    """U-Net decoder: upsample, concatenate the skip, block; then 1x1 logits.

    Parameters
    ----------
    widths : sequence of int
        The encoder's channels at each resolution, full resolution first.
    num_classes : int
        Output channels (logits).
    norm, dropout
        See :class:`ConvBlock`.
    upsampling : {"transpose", "bilinear"}, optional
        A learned 2x2 transposed convolution, or bilinear interpolation
        followed by a 1x1 convolution.
    """

    def __init__(self, widths, num_classes, norm="batch", dropout=0.0, upsampling="transpose"):
        super().__init__()
        pairs = list(zip(widths[:0:-1], widths[-2::-1], strict=True))
        self.ups = nn.ModuleList(_Up(cin, cout, upsampling) for cin, cout in pairs)
        self.blocks = nn.ModuleList(ConvBlock(2 * cout, cout, norm, dropout) for _, cout in pairs)
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, features):
        """Map the encoder features (full resolution first) to logits."""
        x = features[-1]
        for up, block, skip in zip(self.ups, self.blocks, features[-2::-1], strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def pad_to_multiple(x, multiple, min_size=0):
    """Pad the bottom and right of a batch so both sides divide ``multiple``.

    Reflection padding is used where the image is large enough, edge
    replication otherwise.

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W) batch.
    multiple : int
        Required divisor of the padded sides.
    min_size : int, optional
        Smallest padded side.

    Returns
    -------
    torch.Tensor
        The padded batch (``x`` itself when no padding is needed).

    Examples
    --------
    >>> import torch
    >>> from diffuseradio.models.unet import pad_to_multiple
    >>> pad_to_multiple(torch.zeros(1, 1, 37, 53), 16).shape
    torch.Size([1, 1, 48, 64])
    """
    height, width = x.shape[-2:]
    blocks = -(-min_size // multiple)
    pad_h = multiple * max(-(-height // multiple), blocks) - height
    pad_w = multiple * max(-(-width // multiple), blocks) - width
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


class UNet(nn.Module):
    """U-Net mapping (N, C, H, W) images to (N, K, H, W) per-class logits.

    Any H and W are accepted: the input is padded internally to a multiple of
    ``2 ** depth`` (and to at least twice that, so that the coarsest feature
    map has more than one pixel to normalise), by reflection, and the output
    is cropped back.

    Parameters
    ----------
    in_channels : int, optional
        Input channels C (e.g. one per resolution the model sees).
    num_classes : int, optional
        Output channels K: 1 for a single diffuse-emission logit (sigmoid),
        or one logit per class (softmax).
    depth : int, optional
        Number of 2x downsamplings.
    base_width : int, optional
        Channels at full resolution; doubled at each downsampling.
    norm : {"batch", "group", "instance", None}, optional
        Normalisation after each convolution.
    dropout : float, optional
        Channel-dropout probability inside each block.
    upsampling : {"transpose", "bilinear"}, optional
        How the decoder doubles the resolution.

    Examples
    --------
    >>> import torch
    >>> from diffuseradio.models import UNet
    >>> net = UNet(depth=2, base_width=4).eval()
    >>> net(torch.zeros(2, 1, 37, 53)).shape
    torch.Size([2, 1, 37, 53])
    """

    def __init__(
        self,
        in_channels=1,
        num_classes=1,
        depth=4,
        base_width=16,
        norm="batch",
        dropout=0.0,
        upsampling="transpose",
    ):
        super().__init__()
        for name, value in [
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("depth", depth),
            ("base_width", base_width),
        ]:
            check_positive_int(name, value)
        _check_choice("norm", norm, NORMS)
        _check_choice("upsampling", upsampling, UPSAMPLING)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stride = 2**depth
        widths = [base_width * 2**level for level in range(depth + 1)]
        self.encoder = Encoder(in_channels, widths, norm, dropout)
        #: Transform of the coarsest features (a transformer in TransUNet).
        self.bottleneck = nn.Identity()
        self.decoder = Decoder(widths, num_classes, norm, dropout, upsampling)

    def check_input(self, x):
        """Raise ValueError unless ``x`` is an (N, in_channels, H, W) tensor."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected a batch of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )

    def forward(self, x):
        """Per-class logits (N, K, H, W) for a batch (N, C, H, W)."""
        self.check_input(x)
        height, width = x.shape[-2:]
        features = self.encoder(pad_to_multiple(x, self.stride, min_size=2 * self.stride))
        features[-1] = self.bottleneck(features[-1])
        return self.decoder(features)[..., :height, :width]
