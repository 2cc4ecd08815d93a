"""The bundled (default) model end to end: what it finds, and what it must not."""

import copy
import dataclasses
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from helpers import lotss_wcs

from diffuseradio import DiffuseDetector, SurveyMosaic
from diffuseradio.exceptions import IncompatibleResolutionError
from diffuseradio.simulate import FRII, RadioHalo, RadioRelic, inject

A2744 = ("vla_A2744_halo", "A2744_JVLA.image.fits")
RXCJ1825 = (
    "lofar_RXCJ1825_halo",
    "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
)


B1315 = ("lotss_dr2_B1315+415_radiogalaxy", "LoTSS_DR2_B1315+415_P198+42_cutout.fits")


@pytest.fixture(scope="module")
def detector():
    return DiffuseDetector.from_pretrained(device="cpu")


def noise_field(shape=(800, 800), rms=80e-6, seed=0):
    """LoTSS-like noise at 6"/1.5" (white noise correlated by the beam)."""
    from radio_beam import Beam
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    kernel = Beam(6 * u.arcsec).as_kernel(1.5 * u.arcsec).array
    noise = fftconvolve(rng.normal(size=shape), kernel, mode="same")
    noise *= rms / noise.std()
    return SurveyMosaic(noise, lotss_wcs(shape), beam=6 * u.arcsec)


def detection_at(catalog, mosaic, position):
    x, y = (int(round(float(v))) for v in mosaic.wcs.world_to_pixel(position))
    label = catalog.segmentation[y, x]
    return None if label == 0 else catalog.table[catalog.table["id"] == label][0]


def test_bright_halo_found_measured_and_placed(detector):
    mosaic = noise_field()
    centre = mosaic.wcs.pixel_to_world(400, 400)
    halo = RadioHalo(150 * u.mJy, e_folding_radius=100 * u.kpc, redshift=0.15, seed=1)
    injected, _ = inject(mosaic, halo, centre)
    # Hysteresis grows the detection into the halo's faint outskirts, which a
    # total flux density needs (an exponential halo has 20 % of its flux
    # beyond 3 e-folding radii).
    catalog = detector.detect(injected, low_threshold=0.1)
    row = detection_at(catalog, injected, centre)
    assert row is not None, "the halo was not detected"
    # Position within a (working, 20") beam of the injected centre.
    assert row["sky_centroid"].separation(centre) < 20 * u.arcsec
    # Flux density within 15 % of the injected value.
    assert row["flux_density"].to_value(u.mJy) == pytest.approx(150, rel=0.15)
    assert len(catalog) == 1


def test_bright_relic_found(detector):
    mosaic = noise_field(seed=1)
    centre = mosaic.wcs.pixel_to_world(400, 400)
    relic = RadioRelic(80 * u.mJy, length=1000 * u.kpc, width=80 * u.kpc, redshift=0.1, seed=2)
    injected, truth = inject(mosaic, relic, centre)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = detector.detect(injected)
    covered = (catalog.segmentation > 0)[truth > 0].mean()
    assert covered > 0.2


def test_radio_galaxy_not_taken_for_diffuse_emission(detector):
    mosaic = noise_field(seed=2)
    centre = mosaic.wcs.pixel_to_world(400, 400)
    galaxy = FRII(300 * u.mJy, size=3 * u.arcmin, seed=3)
    injected, _ = inject(mosaic, galaxy, centre)
    catalog = detector.detect(injected)
    assert detection_at(catalog, injected, centre) is None
    with pytest.warns(match="no diffuse emission"):
        assert len(catalog) == 0


def test_pure_noise_gives_no_detection(detector):
    catalog = detector.detect(noise_field(seed=3))
    with pytest.warns(match="no diffuse emission"):
        assert len(catalog) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_halo_filling_a_5_arcmin_post_stamp_found(detector, seed):
    """A post-stamp smaller than the network's tile (5' is 50 working pixels).

    Given to the network as it is, a halo filling most of it was missed at
    any flux density (150 mJy, integrated S/N ~80); embedded in noise like
    its own it is found (80 mJy: peak probability 0.91-0.99 over four
    seeds of the noise and three of the sky).
    """
    mosaic = noise_field((200, 200), seed=seed)
    centre = mosaic.wcs.pixel_to_world(100, 100)
    halo = RadioHalo(80 * u.mJy, e_folding_radius=40 * u.arcsec, seed=seed)
    catalog = detector.detect(inject(mosaic, halo, centre)[0])
    row = detection_at(catalog, mosaic, centre)
    assert row is not None, "the halo was not detected"
    assert row["sky_centroid"].separation(centre) < 20 * u.arcsec
    assert len(catalog) == 1


def test_halo_in_the_few_unblanked_pixels_of_a_tile_found(detector):
    """A 5' patch of sky in a blanked 30' image, as at a mosaic's coverage edge."""
    mosaic = noise_field((1200, 1200), seed=2)
    centre = mosaic.wcs.pixel_to_world(600, 600)
    halo = RadioHalo(80 * u.mJy, e_folding_radius=40 * u.arcsec, seed=2)
    injected, _ = inject(mosaic, halo, centre)
    data = np.full(mosaic.shape, np.nan)
    data[500:700, 500:700] = injected.data[500:700, 500:700]
    catalog = detector.detect(SurveyMosaic(data, mosaic.wcs, beam=mosaic.beam))
    row = detection_at(catalog, mosaic, centre)
    assert row is not None, "the halo was not detected"
    assert len(catalog) == 1


def test_noise_post_stamp_gives_no_detection(detector):
    catalog = detector.detect(noise_field((200, 200), seed=4))
    with pytest.warns(match="no diffuse emission"):
        assert len(catalog) == 0


def test_real_radio_galaxy_not_taken_for_diffuse_emission(detector, real_data_path):
    """B1315+415, a radio galaxy with extended lobes in LoTSS-DR2 at 6"."""
    mosaic = SurveyMosaic.read(real_data_path(*B1315))
    with pytest.warns(match="no diffuse emission"):
        assert len(detector.detect(mosaic)) == 0


def test_real_a2744_halo(detector, real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*A2744))
    catalog = detector.detect(mosaic)
    halo = SkyCoord("00h14m20s", "-30d23m00s")
    found = catalog.table[catalog.table["sky_centroid"].separation(halo) < 3 * u.arcmin]
    assert len(found) >= 1


def test_real_rxcj1825_refused_at_60_arcsec(detector, real_data_path):
    """The default model accepts only the beams it was trained on."""
    mosaic = SurveyMosaic.read(real_data_path(*RXCJ1825))
    with pytest.raises(IncompatibleResolutionError) as refused:
        detector.detect(mosaic)
    message = str(refused.value)
    assert "beam (60 arcsec) is outside the 4-24 arcsec range" in message
    assert "not trained on beams coarser than 24 arcsec" in message


def test_real_rxcj1825_halo_with_the_range_widened(detector, real_data_path):
    """The giant halo (about 15' across) covers the cluster centre when the
    card's range is widened (as a user may, at the cost the model zoo states)."""
    mosaic = SurveyMosaic.read(real_data_path(*RXCJ1825))
    wide = copy.copy(detector)
    wide.card = dataclasses.replace(detector.card, accepted_beam_range=[4, 90] * u.arcsec)
    catalog = wide.detect(mosaic)
    centre = SkyCoord(276.34, 30.44, unit="deg")  # PSZ2 G058.29+18.55
    row = detection_at(catalog, mosaic, centre)
    assert row is not None, "no detection covers the cluster centre"
    assert row["sky_centroid"].separation(centre) < 10 * u.arcmin
