"""The errors and warnings of diffuseradio.

Every error the package raises on purpose derives from
:class:`DiffuseRadioError`; the more specific classes also derive from the
standard exception a user would expect (``ValueError``, ``LookupError``...),
so ``except ValueError`` keeps working. Warnings about assumptions made on
an input are :class:`DiffuseRadioWarning`.
"""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = [
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


class DiffuseRadioWarning(AstropyUserWarning):
    """Something was assumed about an input image; the message says what."""


class DiffuseRadioError(Exception):
    """Base class of every error raised by diffuseradio on purpose."""


class InvalidImageError(DiffuseRadioError, ValueError):
    """The input is not a usable 2-D celestial radio image.

    Raised for files that are not FITS, HDUs without image data, true cubes,
    missing or non-celestial WCS, all-blank images and units that are not a
    surface brightness.
    """


class MissingBeamError(InvalidImageError):
    """No restoring beam was found in the header and none was given."""


class IncompatibleResolutionError(DiffuseRadioError, ValueError):
    """The image's beam or pixel scale is outside what a model accepts."""


class ModelError(DiffuseRadioError, ValueError):
    """A model card or weights file is invalid, inconsistent or unsafe."""


class ModelNotFoundError(DiffuseRadioError, LookupError):
    """No model of the requested name or version is registered."""


class ChecksumError(ModelError):
    """A weights file does not have the sha256 recorded in its model card."""


class OfflineError(DiffuseRadioError, RuntimeError):
    """A download was needed while offline mode is on."""


class OutputLockedError(DiffuseRadioError, RuntimeError):
    """Another running process is writing into the same output folder."""
