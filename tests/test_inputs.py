"""The network input of one- and two-channel models (diffuseradio.channels)."""

import copy
import dataclasses

import astropy.units as u
import numpy as np
import pytest
import torch
from helpers import lotss_wcs
from scipy.stats import spearmanr

from diffuseradio import DiffuseDetector, IncompatibleResolutionError, SurveyMosaic
from diffuseradio.models import UNet
from diffuseradio.mosaic.regrid import pixel_average
from diffuseradio.preprocess.inputs import model_input
from diffuseradio.training import TrainingConfig, export_model

P205 = ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")


def card_with(native_beam_arcsec, tmp_path):
    config = TrainingConfig.from_dict(
        {
            "model": {"name": "channels", "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16, "native_beam_arcsec": native_beam_arcsec},
        }
    )
    torch.manual_seed(2)
    network = UNet(in_channels=len(config.input_channels), num_classes=1, **config.model.args)
    return DiffuseDetector.from_pretrained(
        export_model(network, config, tmp_path), device="cpu", precision="fp32"
    )


@pytest.fixture(scope="module")
def two_channel(tmp_path_factory):
    return card_with(6.0, tmp_path_factory.mktemp("two"))


@pytest.fixture(scope="module")
def one_channel(tmp_path_factory):
    return card_with(0.0, tmp_path_factory.mktemp("one"))


@pytest.fixture
def lotss_6(real_data_path):
    return SurveyMosaic.read(real_data_path(*P205))


def test_two_channels_from_one_native_image(two_channel, lotss_6):
    card = two_channel.card
    assert card.native_beam.major == 6 * u.arcsec
    assert [c["name"] for c in card.input_channels] == ["tapered", "native"]
    matched, image = model_input(card, lotss_6)
    assert matched.beam.major == 20 * u.arcsec and matched.shape == (150, 150)
    assert image.shape == (2, 150, 150) and image.dtype == np.float32
    assert np.isfinite(image).all()
    # Compact sources are sharper in the native channel: the brightest one's
    # peak stands higher above the noise there than at 20", and at the same place.
    tapered, native = image
    peak = np.unravel_index(np.argmax(native), native.shape)
    assert np.abs(np.subtract(peak, np.unravel_index(np.argmax(tapered), tapered.shape))).max() <= 1
    # The native channel is the 6" image averaged over the 6" working pixels, in
    # units of its local noise (a monotonic map where the noise is even).
    averaged = pixel_average(lotss_6, matched).data
    assert spearmanr(averaged.ravel(), native.ravel()).statistic > 0.95


def test_the_native_image_can_come_separately(two_channel, lotss_6):
    card = two_channel.card
    tapered = lotss_6.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec)
    _, together = model_input(card, lotss_6)
    matched, separate = model_input(card, tapered, native=lotss_6)
    assert matched.shape == tapered.shape
    np.testing.assert_allclose(separate, together, atol=1e-5)
    probability = two_channel.predict(tapered, native=lotss_6, augment=False)
    assert probability.shape == tapered.shape


def test_detector_runs_a_two_channel_model_on_a_6_arcsec_image(two_channel, lotss_6):
    probability = two_channel.predict(lotss_6, augment=False)
    assert probability.shape == lotss_6.shape
    assert np.nanmin(probability) >= 0 and np.nanmax(probability) <= 1


class CallsEveryIslandDiffuse(torch.nn.Module):
    """An island classifier that scores every island 1 and keeps the cutouts' shapes."""

    def __init__(self):
        super().__init__()
        self.shapes = set()

    def forward(self, x):
        self.shapes.add(tuple(x.shape[1:]))
        return torch.full((x.shape[0],), 20.0)


def test_detect_with_the_island_stage_of_a_two_channel_model(two_channel, lotss_6):
    """detect end to end: both channels, then the islands, whose cutouts hold the tapered
    and native channels, the probability and the mask."""
    islands = {"min_area_beams": 2.0, "cutout_pixels": 16, "args": {}}
    card = dataclasses.replace(two_channel.card, islands=islands, sha256=None)
    assert card.island_channels == 4
    network = copy.deepcopy(two_channel.model)
    network.island_classifier = CallsEveryIslandDiffuse()
    detector = DiffuseDetector(network, card, device="cpu", precision="fp32")
    catalog = detector.detect(lotss_6, augment=False)
    assert network.island_classifier.shapes == {(4, 16, 16)}
    assert catalog.segmentation.shape == lotss_6.shape
    assert len(catalog) > 0  # the islands, all scored diffuse
    assert np.nanmax(catalog.probability) == pytest.approx(1.0)


def test_refusals(two_channel, one_channel, lotss_6):
    tapered = lotss_6.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec)
    with pytest.raises(IncompatibleResolutionError, match="needs the image at native resolution"):
        two_channel.predict(tapered)
    with pytest.raises(IncompatibleResolutionError, match="coarser than the 6 arcsec"):
        two_channel.predict(tapered, native=lotss_6.convolve_to(9 * u.arcsec))
    with pytest.raises(ValueError, match="takes no native image"):
        one_channel.predict(tapered, native=lotss_6)


def test_native_finer_than_the_channel_is_convolved_to_it(two_channel):
    rng = np.random.default_rng(5)
    data = rng.normal(0, 1e-4, (400, 400))
    data[200, 200] = 0.5  # a point source
    fine = SurveyMosaic(data, lotss_wcs(data.shape), beam=4 * u.arcsec)
    at_six = fine.convolve_to(6 * u.arcsec)
    _, from_fine = model_input(two_channel.card, fine)
    _, from_six = model_input(two_channel.card, at_six)
    inside = (slice(None), slice(10, -10), slice(10, -10))  # edges: normalised convolution
    np.testing.assert_allclose(from_fine[inside], from_six[inside], atol=0.02)
