"""Bringing images to a model's working grid and back."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest
import torch
from helpers import lotss_wcs
from radio_beam import Beam
from reproject import reproject_interp

from diffuseradio import IncompatibleResolutionError, SurveyMosaic
from diffuseradio.mosaic.regrid import (
    beam_kernel,
    input_grid_samples,
    pixel_average,
    scaled_grid,
    separable_factors,
)
from diffuseradio.preprocess.working_grid import to_working_grid, working_grid

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


def test_round_kernels_separate_and_tilted_elliptical_ones_do_not():
    round_kernel = beam_kernel(Beam(6 * u.arcsec), Beam(20 * u.arcsec), 1.5 * u.arcsec)
    along_rows, along_columns = separable_factors(round_kernel)
    np.testing.assert_allclose(np.outer(along_rows, along_columns), round_kernel, atol=1e-9)
    tilted = Beam(9 * u.arcsec, 5 * u.arcsec, 30 * u.deg)
    assert separable_factors(beam_kernel(tilted, Beam(20 * u.arcsec), 1.5 * u.arcsec)) is None


def test_tilted_beam_smoothing_equals_convolve_then_resample(real_data_path):
    """An elliptical beam at an angle to the grid takes the FFT path: same values."""
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    mosaic = mosaic.derived(
        np.array(mosaic.data), mosaic.wcs, beam=Beam(9 * u.arcsec, 5 * u.arcsec, 30 * u.deg)
    )
    two_steps = mosaic.convolve_to(20 * u.arcsec).resample(6 * u.arcsec)
    streamed = mosaic.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec, block_rows=9)
    scale = np.nanmax(np.abs(two_steps.data))
    np.testing.assert_allclose(streamed.data, two_steps.data, rtol=0, atol=1e-6 * scale)


def test_smoothing_does_not_depend_on_the_thread_count(real_data_path):
    """The FFTs use PyTorch's thread count; the result is the same with one thread or two."""
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            results.append(mosaic.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec).data)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(results[0], results[1])


def test_resampling_only_matches_reproject_inside(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    streamed = mosaic.smooth_and_resample(pixel_scale=1.6 * u.arcsec, block_rows=11)
    library, _ = reproject_interp(
        (mosaic.data, mosaic.wcs), streamed.wcs, shape_out=streamed.shape, order="bilinear"
    )
    inner = (slice(0, -1), slice(0, -1))
    # The strips are sampled in float32: measured 1.6e-5 of the noise at most,
    # next to a 22 mJy/beam source (float32 rounding of its surface brightness).
    np.testing.assert_allclose(
        streamed.data[inner], library[inner], rtol=1e-6, atol=1e-6 * mosaic.rms.value
    )
    # The last row and column have their centres between the last input pixel
    # centre and the image's outer edge: reproject blanks some of them, the
    # streamed sampling takes the edge values (on data, as every pixel of the image).
    assert np.isnan(library[-1]).any() and np.isfinite(streamed.data[-1]).all()
    resampled = mosaic.resample(1.6 * u.arcsec)  # the same sampling, in strips of 128 rows
    np.testing.assert_array_equal(
        resampled.data, mosaic.smooth_and_resample(pixel_scale=1.6 * u.arcsec).data
    )


def test_back_to_input_grid_matches_reproject(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*RXCJ1825))
    matched, grid = to_working_grid(mosaic, **WORKING)
    assert matched.pixel_scale.to_value(u.arcsec) == pytest.approx(18)
    smooth = np.random.default_rng(0).random(matched.shape).astype(np.float32)
    everything = (slice(None), slice(None))
    back = input_grid_samples(smooth[None], matched, mosaic, *everything)[0]
    assert back.shape == mosaic.shape
    expected, _ = reproject_interp(
        (smooth, matched.wcs), mosaic.wcs, shape_out=mosaic.shape, order="bilinear"
    )
    inside = np.isfinite(expected)
    assert inside.mean() > 0.98
    np.testing.assert_allclose(back[inside], expected[inside], rtol=1e-4, atol=1e-5)
    cube = input_grid_samples(np.stack([smooth, 1 - smooth]), matched, mosaic, *everything)
    assert cube.shape == (2, *mosaic.shape)
    np.testing.assert_allclose(cube[0] + cube[1], 1, atol=1e-5)


def test_pixel_average_is_the_block_mean_on_aligned_grids(real_data_path):
    native = SurveyMosaic.read(real_data_path(*P205))  # 6" beam at 1.5" pixels, 600 x 600
    native.data = np.array(native.data)
    native.data[:6, :] = np.nan  # one whole row of 4 x 4 blocks and half of the next
    like = native.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec)
    averaged = pixel_average(native, like, block_rows=7)
    assert averaged.shape == like.shape == (150, 150)
    assert averaged.wcs.wcs.compare(like.wcs.wcs)
    assert averaged.beam == native.beam
    blocks = native.data.reshape(150, 4, 150, 4).transpose(0, 2, 1, 3).reshape(150, 150, 16)
    assert np.isnan(averaged.data[0]).all()
    assert np.isfinite(averaged.data[1]).all()  # 8 of 16 pixels blanked: kept (coverage 0.5)
    np.testing.assert_allclose(
        averaged.data[1:], np.nanmean(blocks[1:], axis=-1), rtol=1e-5, atol=1e-9
    )
    # Surface brightness is averaged, so the integral over the sky is kept.
    assert np.nansum(averaged.data[2:]) * 16 == pytest.approx(np.nansum(native.data[8:]), rel=1e-5)


@pytest.mark.parametrize("factor", [1.0, 2.5, 4.38])
def test_pixel_average_keeps_the_integral_for_any_pixel_ratio(factor):
    data = np.zeros((219, 219))
    data[20:-20, 20:-20] = np.random.default_rng(3).normal(0, 1, (179, 179))
    native = SurveyMosaic(data, lotss_wcs(data.shape), beam=6 * u.arcsec)
    wcs, shape = scaled_grid(native.wcs, native.shape, factor)
    like = SurveyMosaic(np.zeros(shape), wcs, beam=20 * u.arcsec)
    averaged = pixel_average(native, like)
    # Each native pixel is shared out among the coarse pixels it overlaps.
    assert np.nansum(averaged.data) * factor**2 == pytest.approx(np.sum(data), rel=1e-4)


def test_pixel_average_refuses_unrelated_grids():
    native = SurveyMosaic(np.zeros((64, 64)), lotss_wcs((64, 64)), beam=6 * u.arcsec)
    rotated = lotss_wcs((16, 16), pixel_scale=6 * u.arcsec)
    rotated.wcs.pc = [[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]
    like = SurveyMosaic(np.zeros((16, 16)), rotated, beam=20 * u.arcsec)
    with pytest.raises(IncompatibleResolutionError, match="not a finer version of the working"):
        pixel_average(native, like)


def test_coarse_elliptical_beam_is_made_round_at_its_major_axis(real_data_path):
    """3C 236 (WSRT, 48"x28" beam, 9" pixels), for a model accepting 4-90": it
    is convolved to a round 48" beam on 14.4" pixels, not refused for
    undersampling its minor axis."""
    from diffuseradio import DiffuseDetector, SurveyMosaic
    from diffuseradio.preprocess import working_mosaic

    grid = working_grid(
        Beam(48 * u.arcsec, 28 * u.arcsec, 0 * u.deg),
        9 * u.arcsec,
        working_beam=Beam(20 * u.arcsec),
        working_pixel_scale=6 * u.arcsec,
        accepted_range=[4, 90] * u.arcsec,
    )
    assert grid.convolve and grid.resample
    assert grid.beam.major.to_value(u.arcsec) == pytest.approx(48)
    assert grid.beam.minor.to_value(u.arcsec) == pytest.approx(48)
    assert grid.pixel_scale.to_value(u.arcsec) == pytest.approx(14.4)
    mosaic = SurveyMosaic.read(real_data_path("wsrt_3C236_grg", "3C236_original.fits"))
    card = DiffuseDetector.from_pretrained().card  # accepts 4-24": widened here
    wide = dataclasses.replace(card, accepted_beam_range=[4, 90] * u.arcsec)
    matched = working_mosaic(wide, mosaic)
    # round (the resampling's own smoothing broadens it a little, on both axes alike)
    assert matched.beam.minor.to_value(u.arcsec) == pytest.approx(
        matched.beam.major.to_value(u.arcsec), rel=1e-3
    )
    assert matched.pixel_scale.to_value(u.arcsec) == pytest.approx(14.4)
