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
