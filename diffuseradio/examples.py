"""The example field shipped with the package.

A simulated LoTSS-like field (6" beam, 1.5" pixels, 80 uJy/beam, 144 MHz;
640 x 640 pixels, 16' across) with radio halos, relics, radio galaxies and
compact sources, made by ``scripts/make_example_field.py`` with
:mod:`diffuseradio.simulate`. Its truth map and object table ship with it.
"""

from importlib.resources import files

__all__ = ["example_field_path", "example_truth_path", "example_objects_path"]

_DATA = files("diffuseradio") / "data"


def example_field_path():
    """Path of the example image (FITS, Jy/beam).

    Examples
    --------
    >>> from diffuseradio import SurveyMosaic
    >>> from diffuseradio.examples import example_field_path
    >>> SurveyMosaic.read(example_field_path()).shape
    (640, 640)
    """
    return _DATA / "example_field.image.fits"


def example_truth_path():
    """Path of the example's truth class map (FITS; 0 background, 1 halo, 2 relic, 3 bridge)."""
    return _DATA / "example_field.truth.fits"


def example_objects_path():
    """Path of the example's object table (ECSV)."""
    return _DATA / "example_field.objects.ecsv"
