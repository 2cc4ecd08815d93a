"""Working-grid maps on the input's pixels: whole, or where they are read."""

import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam

from diffuseradio import SurveyMosaic
from diffuseradio.postprocess import InputGridMap, on_input_pixels
from diffuseradio.preprocess.working_grid import to_working_grid

P205 = ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")
WORKING = {
    "working_beam": Beam(20 * u.arcsec),
    "working_pixel_scale": 6 * u.arcsec,
    "accepted_range": [4, 90] * u.arcsec,
}


@pytest.fixture
def grids(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    mosaic.data = np.array(mosaic.data)
    mosaic.data[:50, :80] = np.nan  # a blanked corner
    matched, _ = to_working_grid(mosaic, **WORKING)
    maps = np.random.default_rng(2).random((2, *matched.shape)).astype(np.float32)
    maps[:, -3:] = np.nan  # working pixels without a value
    return maps, matched, mosaic


def test_boxes_are_the_whole_map_exactly(grids):
    maps, matched, mosaic = grids
    whole = on_input_pixels(maps, matched, mosaic)
    lazy = InputGridMap(maps, matched, mosaic)
    assert lazy.shape == whole.shape == (2, 600, 600) and lazy.ndim == 3
    for box in [
        (slice(0, 1), slice(0, 600)),
        (slice(37, 301), slice(5, 17)),
        (slice(590, None), slice(None, 3)),
    ]:
        np.testing.assert_array_equal(lazy[(Ellipsis, *box)], whole[(Ellipsis, *box)])
    np.testing.assert_array_equal(np.concatenate(list(lazy.strips(rows=97)), axis=1), whole)
    np.testing.assert_array_equal(np.asarray(lazy), whole)
    assert np.isnan(whole[:, :50, :80]).all()  # the input's blanks
    assert (whole[:, -5:][np.isfinite(whole[:, -5:])] >= 0).all()  # no value: 0, not NaN
    assert np.any(whole[:, -2:] == 0)


def test_one_plane_and_other_indices(grids):
    maps, matched, mosaic = grids
    whole = on_input_pixels(maps[0], matched, mosaic)
    lazy = InputGridMap(maps[0], matched, mosaic)
    assert lazy.shape == (600, 600)
    np.testing.assert_array_equal(lazy[100:120], whole[100:120])
    np.testing.assert_array_equal(lazy[5:9, 300:310], whole[5:9, 300:310])
    np.testing.assert_array_equal(lazy[::7, 3], whole[::7, 3])  # made whole, then indexed
    mask = whole > 0.5
    np.testing.assert_array_equal(lazy[mask], whole[mask])
    np.testing.assert_array_equal(
        InputGridMap(maps, matched, mosaic)[1], on_input_pixels(maps, matched, mosaic)[1]
    )
