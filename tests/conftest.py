"""Shared pytest fixtures and options."""

import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.wcs import WCS

#: Where the project's real observed radio images live (outside the package):
#: ``../shared/data/real`` next to the repository, or $DIFFUSERADIO_REAL_DATA.
REAL_DATA = Path(
    os.environ.get(
        "DIFFUSERADIO_REAL_DATA",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "real",
    )
)


@pytest.fixture
def real_data_path():
    """Return a function ``(folder, filename) -> Path`` that skips when absent."""

    def locate(folder, filename):
        path = REAL_DATA / folder / filename
        if not path.is_file():
            pytest.skip(f"real data not available: {path}")
        return path

    return locate


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


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)
