"""TransUNet: a U-Net whose bottleneck is a transformer encoder.

The hybrid TransUNet of Chen et al. (2021): the CNN encoder of the U-Net
reduces the image ``2 ** depth`` times; every pixel of that coarsest feature
map becomes a token, a transformer encoder lets every token attend to every
other (the whole tile, i.e. scales far beyond the convolutions' receptive
field, which is what faint, large halos need), and the U-Net decoder with its
skips brings the result back to full resolution. Positions enter as fixed 2-D
sine-cosine embeddings computed for the actual token grid, so the network runs
at any tile size.
"""

import torch
from torch import nn

from .unet import UNet, check_positive_int

__all__ = ["BottleneckTransformer", "TransUNet", "sincos_position_embedding"]


def sincos_position_embedding(height, width, dim, *, device=None, temperature=10000.0):
    """Fixed 2-D sine-cosine position embeddings of a ``height x width`` grid.

    A quarter of the channels encode the column with sines, a quarter with
    cosines, and the same for the row, at ``dim / 4`` frequencies spaced
    geometrically from 1 to ``1 / temperature`` (as in MAE, He et al. 2022).

    Parameters
    ----------
    height, width : int
        Size of the token grid.
    dim : int
        Embedding size, a multiple of 4.
    device : torch.device, optional
        Device of the result.
    temperature : float, optional
        Longest wavelength, in grid cells, over 2 pi.

    Returns
    -------
    torch.Tensor
        float32 tensor of shape (height * width, dim), row-major order.

    Examples
    --------
    >>> from diffuseradio.models.transunet import sincos_position_embedding
    >>> sincos_position_embedding(3, 5, 8).shape
    torch.Size([15, 8])
    """
    if dim % 4:
        raise ValueError(f"embedding size must be a multiple of 4, not {dim}")
    quarter = dim // 4
    omega = temperature ** -(torch.arange(quarter, dtype=torch.float32, device=device) / quarter)
    rows = torch.arange(height, dtype=torch.float32, device=device)
    cols = torch.arange(width, dtype=torch.float32, device=device)
    y, x = torch.meshgrid(rows, cols, indexing="ij")
    x = x.reshape(-1, 1) * omega
    y = y.reshape(-1, 1) * omega
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1)


class BottleneckTransformer(nn.Module):
    """Transformer encoder over the pixels of a feature map, with a residual.

    Parameters
    ----------
    channels : int
        Channels of the feature map.
    embed_dim : int
        Token size (multiple of 4 and of ``num_heads``).
    num_layers : int
        Transformer encoder layers (pre-norm, GELU).
    num_heads : int
        Attention heads.
    mlp_ratio : float
        Hidden size of each layer's MLP over ``embed_dim``.
    dropout : float
        Dropout inside the transformer layers.
    """

    def __init__(self, channels, embed_dim, num_layers, num_heads, mlp_ratio, dropout):
        super().__init__()
        self.embed = nn.Conv2d(channels, embed_dim, 1)
        layer = nn.TransformerEncoderLayer(
            embed_dim,
            num_heads,
            dim_feedforward=round(embed_dim * mlp_ratio),
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(embed_dim), enable_nested_tensor=False
        )
        self.project = nn.Conv2d(embed_dim, channels, 1)

    def forward(self, x):
        """Return ``x`` plus the transformer's output, same shape (N, C, h, w)."""
        n, _, height, width = x.shape
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = tokens + sincos_position_embedding(
            height, width, tokens.shape[-1], device=x.device
        ).to(tokens.dtype)
        tokens = self.encoder(tokens)
        grid = tokens.transpose(1, 2).reshape(n, -1, height, width)
        return x + self.project(grid)


class TransUNet(UNet):
    """U-Net with a transformer encoder at the bottleneck.

    Same contract as :class:`~diffuseradio.models.UNet`: (N, C, H, W) images
    of any size to (N, K, H, W) logits. With a 256-pixel tile and ``depth=4``
    the transformer sees a 16 x 16 grid of tokens.

    Parameters
    ----------
    in_channels, num_classes, depth, base_width, norm, dropout, upsampling
        As for :class:`~diffuseradio.models.UNet` (``dropout`` also applies
        inside the transformer).
    embed_dim : int, optional
        Token size (a multiple of 4 and of ``num_heads``).
    num_layers : int, optional
        Transformer encoder layers.
    num_heads : int, optional
        Attention heads per layer.
    mlp_ratio : float, optional
        Hidden size of the MLP of each layer over ``embed_dim``.

    Examples
    --------
    >>> import torch
    >>> from diffuseradio.models import TransUNet
    >>> net = TransUNet(depth=2, base_width=4, embed_dim=8, num_heads=2).eval()
    >>> net(torch.zeros(1, 1, 37, 53)).shape
    torch.Size([1, 1, 37, 53])
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
        embed_dim=128,
        num_layers=4,
        num_heads=4,
        mlp_ratio=2.0,
    ):
        super().__init__(in_channels, num_classes, depth, base_width, norm, dropout, upsampling)
        for name, value in [
            ("embed_dim", embed_dim),
            ("num_layers", num_layers),
            ("num_heads", num_heads),
        ]:
            check_positive_int(name, value)
        if embed_dim % 4 or embed_dim % num_heads:
            raise ValueError(
                f"embed_dim must be a multiple of 4 and of num_heads={num_heads}, not {embed_dim}"
            )
        if not mlp_ratio > 0:
            raise ValueError(f"mlp_ratio must be positive, not {mlp_ratio!r}")
        self.bottleneck = BottleneckTransformer(
            base_width * 2**depth, embed_dim, num_layers, num_heads, mlp_ratio, dropout
        )
