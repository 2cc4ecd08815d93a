"""Networks, model cards, the model registry, and device/precision choice.

See :doc:`/models` for the registry and the card format.
"""

from .cards import ARCHITECTURES, ModelCard, build_network
from .classifier import IslandClassifier, classify_cutouts, dihedral
from .device import inference_context, select_device, select_precision, to_device
from .inference import predict_image
from .registry import (
    LoadedModel,
    available_models,
    cache_dir,
    load_model,
    register_model,
    save_model,
)
from .transunet import TransUNet
from .unet import UNet

__all__ = [
    "ARCHITECTURES",
    "IslandClassifier",
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
