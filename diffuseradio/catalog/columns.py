"""The columns of a detection catalogue: their names, meanings and quality flags."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

__all__ = ["FLAGS", "COLUMN_DESCRIPTIONS", "COLUMNS", "decode_flags", "empty_table"]

#: Quality flags: bit value -> meaning. Combine with ``|``; see :func:`decode_flags`.
FLAGS = {
    1: "touches the image edge",
    2: "touches a blanked (NaN) region",
    4: "over half the flux density is in compact sources",
    8: "mean surface brightness below 1 sigma per beam (outside the reliable range)",
    16: "smaller than 4 beams (of the model's working resolution where it is known: the "
    "beams --min-area-beams counts)",
}


def decode_flags(flags, meanings=None):
    """List the meanings of the bits set in a ``flags`` value.

    Parameters
    ----------
    flags : int
    meanings : dict, optional
        Bit value -> meaning; default :data:`FLAGS`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> decode_flags(5)
    ['touches the image edge', 'over half the flux density is in compact sources']
    """
    return [meaning for bit, meaning in (meanings or FLAGS).items() if int(flags) & bit]


#: The catalogue's columns, in order, with the description each carries
#: (written into ECSV, FITS ``TCOMM`` and VOTable).
COLUMN_DESCRIPTIONS = {
    "id": "detection label: the value of its pixels in the mask",
    "sky_centroid": "ICRS position of the detection's pixel centroid (unweighted)",
    "x_centroid": "pixel centroid (unweighted), 0-based x pixel of the input image",
    "y_centroid": "pixel centroid (unweighted), 0-based y pixel of the input image",
    "flux_centroid": "ICRS position of the flux-weighted centroid of the detection's pixels",
    "flux_centroid_err": "1-sigma uncertainty of flux_centroid along each axis, from "
    "local_rms (noise correlated over the beam)",
    "area": "area of the detection's pixels",
    "area_beams": "area in beams of the input image",
    "largest_angular_size": "largest distance between two corners of the detection's pixels",
    "major_axis": "FWHM-equivalent major axis of the detection's pixels (unweighted moments)",
    "minor_axis": "FWHM-equivalent minor axis of the detection's pixels (unweighted moments)",
    "position_angle": "position angle of major_axis, east of north",
    "flux_density": "integrated flux density: sum of the pixels over the beam area in pixels",
    "flux_density_err": "noise part of the flux density error: local_rms * sqrt(area_beams)",
    "mean_surface_brightness": "flux_density over area",
    "peak_surface_brightness": "brightest pixel of the detection",
    "mean_snr_per_beam": "mean pixel value over local_rms",
    "peak_probability": "largest probability of diffuse emission over the detection",
    "mean_probability": "mean probability of diffuse emission over the detection",
    "diffuse_class": "diffuse class with the largest summed probability",
    "compact_flux_fraction": "fraction of flux_density in compact sources (5 sigma above "
    "the image smoothed on 3 beams)",
    "local_rms": "noise around the detection (robust, detections left out)",
    "flags": "quality flags, a sum of bits: see the table's meta 'flags' and decode_flags",
    "largest_linear_size": "largest_angular_size at the redshift (proper length)",
}
#: The columns of every catalogue (``largest_linear_size`` is added with a redshift).
COLUMNS = list(COLUMN_DESCRIPTIONS)[:-1]


def empty_table(names=COLUMNS):
    """A catalogue table with no rows: the columns ``names``, with their units."""
    columns = {
        "id": np.array([], dtype=np.int32),
        "sky_centroid": SkyCoord([], [], unit="deg"),
        "x_centroid": [] * u.pix,
        "y_centroid": [] * u.pix,
        "flux_centroid": SkyCoord([], [], unit="deg"),
        "flux_centroid_err": [] * u.arcsec,
        "area": [] * u.arcmin**2,
        "area_beams": np.array([], dtype=float),
        "largest_angular_size": [] * u.arcmin,
        "major_axis": [] * u.arcmin,
        "minor_axis": [] * u.arcmin,
        "position_angle": [] * u.deg,
        "flux_density": [] * u.mJy,
        "flux_density_err": [] * u.mJy,
        "mean_surface_brightness": [] * u.uJy / u.arcsec**2,
        "peak_surface_brightness": [] * u.mJy / u.beam,
        "mean_snr_per_beam": np.array([], dtype=float),
        "peak_probability": np.array([], dtype=float),
        "mean_probability": np.array([], dtype=float),
        "diffuse_class": np.array([], dtype="U16"),
        "compact_flux_fraction": np.array([], dtype=float),
        "local_rms": [] * u.uJy / u.beam,
        "flags": np.array([], dtype=np.int32),
    }
    return QTable([columns[name] for name in names], names=list(names))
