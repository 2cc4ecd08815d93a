"""diffuseradio: find diffuse radio emission in radio survey images.

Radio halos, relics, bridges and cosmic-web filaments are found with U-Net and
TransUNet networks trained on simulated skies; results come back as astropy
tables, DS9 regions and FITS maps.
"""

from .catalog import DetectionCatalog
from .detector import DiffuseDetector, PredictionStages
from .exceptions import (
    ChecksumError,
    DiffuseRadioError,
    DiffuseRadioWarning,
    IncompatibleResolutionError,
    InvalidImageError,
    MissingBeamError,
    ModelError,
    ModelNotFoundError,
    OfflineError,
    OutputLockedError,
)
from .mosaic import SurveyMosaic, Tile

__version__ = "0.1.0.dev0"

__all__ = [
    "DiffuseDetector",
    "PredictionStages",
    "DetectionCatalog",
    "SurveyMosaic",
    "Tile",
    "DiffuseRadioWarning",
    "DiffuseRadioError",
    "InvalidImageError",
    "MissingBeamError",
    "IncompatibleResolutionError",
    "ModelError",
    "ModelNotFoundError",
    "ChecksumError",
    "OfflineError",
    "OutputLockedError",
]
