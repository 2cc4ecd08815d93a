"""Small helpers shared by the tests."""

import astropy.units as u
from astropy.wcs import WCS


def lotss_wcs(shape, pixel_scale=1.5 * u.arcsec, centre=(207.15, 55.19)):
    """A LoTSS-like RA---SIN/DEC--SIN WCS for an image of ``shape``."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    scale = pixel_scale.to_value(u.deg)
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.crval = list(centre)
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = shape[::-1]
    return wcs


def untrained_model_card(directory, name, *, seed=0, **training):
    """Export an untrained two-level U-Net of 64-pixel tiles; returns its card's path.

    Fast to run: for tests of the machinery around a model, not of its answers.
    """
    import torch

    from diffuseradio.models import UNet
    from diffuseradio.training import TrainingConfig, export_model

    config = TrainingConfig.from_dict(
        {
            "model": {"name": name, "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16},
            **({"training": training} if training else {}),
        }
    )
    torch.manual_seed(seed)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    return str(export_model(network, config, directory))
