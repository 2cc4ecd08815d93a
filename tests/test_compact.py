"""Compact-source subtraction (diffuseradio.subtraction) and its command."""

import astropy.units as u
import numpy as np
import pytest
from helpers import lotss_wcs
from radio_beam import Beam
from scipy import ndimage

from diffuseradio import SurveyMosaic
from diffuseradio.preprocess.compact import compact_emission, subtract_compact

P205 = ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")

#: (x, y offset from the centre in arcsec, intrinsic FWHM in arcsec, flux density in Jy)
POINTS = [(-100.3, 40.7, 0.0, 0.03), (60.9, -80.2, 0.0, 0.025), (20.4, 90.6, 2.0, 0.02)]
BROAD = (-20.0, -30.0, 90.0, 0.3)


def render(sources, beam_arcsec, pixel_arcsec, side, noise, rng):
    """A noisy image (Jy/beam) of circular Gaussian sources seen with a circular beam."""
    offsets = (np.arange(side) - (side - 1) / 2) * pixel_arcsec
    x, y = np.meshgrid(offsets, offsets)
    data = rng.normal(0, noise, (side, side))
    for x0, y0, fwhm, flux in sources:
        width2 = fwhm**2 + beam_arcsec**2
        data += (
            flux
            * beam_arcsec**2
            / width2
            * np.exp(-4 * np.log(2) * ((x - x0) ** 2 + (y - y0) ** 2) / width2)
        )
    wcs = lotss_wcs((side, side), pixel_scale=pixel_arcsec * u.arcsec)
    return SurveyMosaic(data.astype(np.float32), wcs, beam=Beam(beam_arcsec * u.arcsec))


def make_pair(rng, broad=BROAD):
    """The same sky at 20" on 6" pixels and at 6" on 1.5" pixels (aligned grids)."""
    sky = POINTS + [broad]
    tapered = render(sky, 20.0, 6.0, 80, 1.5e-4, rng)
    native = render(sky, 6.0, 1.5, 320, 1e-4, rng)
    return tapered, native


@pytest.fixture
def pair(rng):
    return make_pair(rng)


def pixel_of(x0, y0, side=80, pixel=6.0):
    return int(round(y0 / pixel + (side - 1) / 2)), int(round(x0 / pixel + (side - 1) / 2))


def test_point_sources_go_and_broad_emission_stays(pair):
    tapered, native = pair
    subtracted = subtract_compact(tapered, native)
    assert subtracted.shape == tapered.shape and subtracted.beam == tapered.beam
    assert subtracted.wcs.wcs.compare(tapered.wcs.wcs)
    broad_only = render([BROAD], 20.0, 6.0, 80, 0.0, np.random.default_rng(0)).data
    for x0, y0, _, flux in POINTS:
        pixel = pixel_of(x0, y0)
        # the source's 20" peak is gone to within 3 % (sub-pixel positions, a 2" source)
        assert abs(tapered.data[pixel] - broad_only[pixel]) > 0.9 * flux
        assert abs(subtracted.data[pixel] - broad_only[pixel]) < 0.03 * flux
    # the broad source keeps its flux density (Jy/beam summed over pixels / beam area)
    flux = subtracted.data.sum() / subtracted.beam_area_pixels
    assert flux == pytest.approx(BROAD[3], rel=0.03)
    before = tapered.data.sum() / tapered.beam_area_pixels
    assert before == pytest.approx(BROAD[3] + sum(s[3] for s in POINTS), rel=0.03)


def test_blanked_pixels_stay_blanked(pair):
    tapered, native = pair
    data = tapered.data.copy()
    data[:5] = np.nan
    subtracted = subtract_compact(SurveyMosaic(data, tapered.wcs, beam=tapered.beam), native)
    assert np.isnan(subtracted.data[:5]).all() and np.isfinite(subtracted.data[5:]).all()


def test_compact_sources_of_a_real_lotss_field_are_subtracted(real_data_path):
    native = SurveyMosaic.read(real_data_path(*P205))
    tapered = native.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec)
    subtracted = subtract_compact(tapered, native)
    rms = tapered.rms_map().to_value(u.Jy / u.beam)
    before, after = tapered.data / rms, subtracted.data / rms
    sources, count = ndimage.label(before > 5)
    index = np.arange(1, count + 1)
    peak = np.asarray(ndimage.maximum(before, sources, index))
    left = np.asarray(ndimage.maximum(after, sources, index))
    area = np.asarray(ndimage.sum(before > 5, sources, index))
    # the bright sources of a few 20" beams: most are compact at 6" and go
    small = np.argsort(np.where(area < 40, -peak, 0))[:5]
    assert (peak[small] > 20).all()
    assert (left[small] < 0.15 * peak[small]).sum() >= 4
    # the one extended source (an island of hundreds of pixels) stays
    extended = np.flatnonzero(area > 300)
    assert len(extended) == 1
    assert left[extended[0]] > 0.8 * peak[extended[0]]
    assert (after < -5).sum() < 0.05 * (before > 5).sum()  # little over-subtraction


def test_compact_emission_needs_seed_above_growth():
    with pytest.raises(ValueError, match="grow_snr"):
        compact_emission(np.zeros((8, 8)), 3, seed_snr=3, grow_snr=5)
    assert not compact_emission(np.zeros((8, 8)), 3).any()  # no noise, nothing significant


def test_the_native_image_must_be_finer(pair):
    tapered, native = pair
    with pytest.raises(ValueError, match="must be finer"):
        subtract_compact(tapered, native.convolve_to(Beam(30 * u.arcsec)))


def test_command_writes_the_subtracted_image(pair, tmp_path, capsys):
    from diffuseradio.cli import main

    tapered, native = pair
    tapered.write(tmp_path / "t.fits")
    native.write(tmp_path / "n.fits")
    out = tmp_path / "out" / "t.subtracted.fits"
    args = ["subtract-compact", str(tmp_path / "t.fits"), str(tmp_path / "n.fits"), "-o",
            str(out.parent)]  # fmt: skip
    assert main(args) == 0
    written = SurveyMosaic.read(out)
    np.testing.assert_array_equal(written.data, subtract_compact(tapered, native).data)
    assert written.beam == tapered.beam
    assert written.wcs.wcs.compare(tapered.wcs.wcs, tolerance=1e-12)
    assert main(args) == 2 and "exists (use --overwrite)" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    # the images swapped: a clear error and no file
    swapped = tmp_path / "swapped"
    assert main([*args[:1], args[2], args[1], "-o", str(swapped)]) == 2
    assert "must be finer" in capsys.readouterr().err and not swapped.exists()


@pytest.mark.parametrize("offset", [(0.0, 0.0), (3.0, 3.0), (1.5, -2.0), (-100.3, 40.7)])
def test_subtraction_is_exact_to_a_few_parts_in_ten_thousand(offset):
    """A noise-free point source anywhere within a pixel: the model's convolution kernel
    allows for the smoothing of the bilinear sampling onto the coarser pixels."""
    rng = np.random.default_rng(1)
    sky = [(*offset, 0.0, 0.05)]
    tapered = render(sky, 20.0, 6.0, 80, 1e-6, rng)
    native = render(sky, 6.0, 1.5, 320, 1e-6, rng)
    residual = subtract_compact(tapered, native).data
    assert np.abs(residual).max() < 5e-4 * tapered.data.max()
