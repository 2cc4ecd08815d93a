"""Running a network over a whole image: tiles, batches, stitching.

The detector and the training validation both call :func:`predict_image`,
so a model is validated exactly the way it is later run.
"""

import numpy as np
import torch
from tqdm.auto import tqdm

from ..mosaic.tiling import TileStitcher, tile_slices
from .device import inference_context, to_device

__all__ = ["predict_image", "DIHEDRAL"]

#: The 8 symmetries of the square: (number of 90-degree rotations, flip).
DIHEDRAL = [(k, flip) for flip in (False, True) for k in range(4)]


def predict_image(
    network,
    image,
    *,
    tile_size,
    overlap,
    batch_size=8,
    device="cpu",
    precision="fp32",
    probabilities=None,
    augment=False,
    progress=False,
):
    """Class probabilities of a normalised image, tile by tile.

    Parameters
    ----------
    network : torch.nn.Module
        Maps (N, C, H, W) to (N, K, H, W) logits; put in eval mode here.
    image : numpy.ndarray
        Normalised input, ``(H, W)`` or ``(C, H, W)``; NaN-free.
    tile_size, overlap : int
        Tiling of the image (see ``diffuseradio.mosaic.tiling.tile_slices``).
    batch_size : int, optional
        Tiles per forward pass.
    device : str or torch.device, optional
    precision : str or torch.dtype, optional
        ``"fp32"`` or ``"bf16"`` (autocast).
    probabilities : callable, optional
        Logits -> probabilities (a model card's ``probabilities``); default
        sigmoid for one output channel, softmax otherwise.
    augment : bool, optional
        Test-time augmentation: average over the 8 rotations and flips of
        each tile, and also return the per-pixel standard deviation.
    progress : bool, optional
        Show a progress bar over tiles.

    Returns
    -------
    probability : numpy.ndarray
        float32 ``(K, H, W)`` stitched probabilities.
    spread : numpy.ndarray or None
        float32 ``(K, H, W)`` standard deviation over the augmentations
        (only with ``augment=True``).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    channels, height, width = image.shape
    probabilities = probabilities or _default_probabilities
    network.eval()
    device = torch.device(device)
    network = to_device(network, device)
    slices = tile_slices((height, width), tile_size, overlap)
    stitched = spread = None
    bar = tqdm(total=len(slices), desc="tiles", unit="tile", disable=not progress, leave=False)
    with inference_context(device, precision):
        for start in range(0, len(slices), batch_size):
            batch_slices = slices[start : start + batch_size]
            batch = np.stack([image[(slice(None), *s)] for s in batch_slices])
            mean, std = _forward(network, batch, device, probabilities, augment)
            if stitched is None:
                stitched = TileStitcher((height, width), overlap, channels=mean.shape[1])
                spread = TileStitcher((height, width), overlap, channels=mean.shape[1])
            for k, tile_slices_ in enumerate(batch_slices):
                stitched.add(tile_slices_, mean[k])
                if augment:
                    spread.add(tile_slices_, std[k])
            bar.update(len(batch_slices))
    bar.close()
    return stitched.result(), (spread.result() if augment else None)


def _forward(network, batch, device, probabilities, augment):
    tensor = to_device(torch.from_numpy(batch), device)
    if not augment:
        return probabilities(network(tensor)).float().cpu().numpy(), None
    outputs = []
    for k, flip in DIHEDRAL:
        view = torch.rot90(tensor, k, dims=(2, 3))
        view = torch.flip(view, dims=(3,)) if flip else view
        out = probabilities(network(view.contiguous(memory_format=torch.channels_last)))
        out = torch.flip(out, dims=(3,)) if flip else out
        outputs.append(torch.rot90(out, -k, dims=(2, 3)).float())
    stack = torch.stack(outputs)
    return stack.mean(0).cpu().numpy(), stack.std(0).cpu().numpy()


def _default_probabilities(logits):
    logits = logits.float()
    return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)
