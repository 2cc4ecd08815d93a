"""Networks, model cards, the model registry, and device/precision choice.

``card`` (the whole card schema),
``architectures`` (the networks a card can name),
``registry`` (names, versions, safe loading and
saving), ``hub`` (downloads, cache, sha256),
``inference`` (tiles through the network),
``device`` (device and precision). See
:doc:`/models` for the registry and the card format.
"""

from .architectures import ARCHITECTURES, build_network
from .card import IslandSettings, ModelCard
from .device import inference_context, select_device, select_precision, to_device
from .hub import cache_dir
from .inference import predict_image
from .island_classifier import IslandClassifier, classify_cutouts, dihedral
from .registry import (
    DEFAULT_MODEL,
    LoadedModel,
    available_models,
    load_model,
    register_model,
    save_model,
)
from .transunet import TransUNet
from .unet import UNet

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_MODEL",
    "IslandClassifier",
    "IslandSettings",
    "LoadedModel",
    "ModelCard",
    "TransUNet",
    "UNet",
    "available_models",
    "build_network",
    "cache_dir",
    "classify_cutouts",
    "dihedral",
    "inference_context",
    "load_model",
    "predict_image",
    "register_model",
    "save_model",
    "select_device",
    "select_precision",
    "to_device",
]
