"""Bringing images to a model's working grid and back."""

import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam
from reproject import reproject_interp

from diffuseradio import IncompatibleResolutionError, SurveyMosaic
from diffuseradio.resolution import to_input_grid, to_working_grid, working_grid

P205 = ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")
RXCJ1825 = (
    "lofar_RXCJ1825_halo",
    "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
)
WORKING = {
    "working_beam": Beam(20 * u.arcsec),
    "working_pixel_scale": 6 * u.arcsec,
    "accepted_range": [4, 90] * u.arcsec,
}


@pytest.mark.parametrize(
    ("beam", "pixel", "expected_beam", "expected_pixel", "convolve", "resample"),
    [
        (6, 1.5, 20, 6, True, True),  # LoTSS 6"
        (20, 4.5, 20, 6, False, True),  # LoTSS 20"
        (20, 6, 20, 6, False, False),  # already there
        (60, 6, 60, 18, False, True),  # tapered cluster image: keep the beam
        (13.2, 4, 20, 6, True, True),  # VLA
    ],
)
def test_working_grid_policy(beam, pixel, expected_beam, expected_pixel, convolve, resample):
    grid = working_grid(Beam(beam * u.arcsec), pixel * u.arcsec, **WORKING)
    assert grid.beam.major.to_value(u.arcsec) == pytest.approx(expected_beam)
    assert grid.pixel_scale.to_value(u.arcsec) == pytest.approx(expected_pixel)
    assert (grid.convolve, grid.resample) == (convolve, resample)


@pytest.mark.parametrize("beam", [2, 150])
def test_outside_the_accepted_range(beam):
    with pytest.raises(IncompatibleResolutionError, match="outside the 4-90 arcsec range"):
        working_grid(Beam(beam * u.arcsec), 1 * u.arcsec, **WORKING)


def test_streamed_smoothing_equals_convolve_then_resample(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    mosaic.data = np.array(mosaic.data)
    mosaic.data[:37] = np.nan  # a blanked edge, as in DR2 mosaics
    two_steps = mosaic.convolve_to(20 * u.arcsec).resample(6 * u.arcsec)
    streamed = mosaic.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec, block_rows=7)
    assert streamed.shape == two_steps.shape == (150, 150)
    assert streamed.wcs.wcs.compare(two_steps.wcs.wcs)
    np.testing.assert_array_equal(np.isnan(streamed.data), np.isnan(two_steps.data))
    scale = np.nanmax(np.abs(two_steps.data))
    np.testing.assert_allclose(streamed.data, two_steps.data, rtol=0, atol=1e-6 * scale)


def test_resampling_only_matches_reproject_inside(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    streamed = mosaic.smooth_and_resample(pixel_scale=1.6 * u.arcsec, block_rows=11)
    library = mosaic.resample(1.6 * u.arcsec)
    inner = (slice(0, -1), slice(0, -1))  # the last row/column sits on the outer edge
    np.testing.assert_allclose(streamed.data[inner], library.data[inner], rtol=1e-6, atol=1e-12)


def test_back_to_input_grid_matches_reproject(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*RXCJ1825))
    matched, grid = to_working_grid(mosaic, **WORKING)
    assert matched.pixel_scale.to_value(u.arcsec) == pytest.approx(18)
    smooth = np.random.default_rng(0).random(matched.shape).astype(np.float32)
    back = to_input_grid(smooth, matched, mosaic, block_rows=50)
    assert back.shape == mosaic.shape
    expected, _ = reproject_interp(
        (smooth, matched.wcs), mosaic.wcs, shape_out=mosaic.shape, order="bilinear"
    )
    inside = np.isfinite(expected)
    assert inside.mean() > 0.98
    np.testing.assert_allclose(back[inside], expected[inside], rtol=1e-4, atol=1e-5)
    cube = to_input_grid(np.stack([smooth, 1 - smooth]), matched, mosaic)
    assert cube.shape == (2, *mosaic.shape)
    np.testing.assert_allclose(cube[0] + cube[1], 1, atol=1e-5)
