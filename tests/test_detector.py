"""DiffuseDetector.predict/detect mechanics with a small untrained network.

Detection quality with the shipped models is checked in test_pretrained.py.
"""

import astropy.units as u
import numpy as np
import pytest
import torch
from helpers import lotss_wcs

from diffuseradio import (
    DetectionCatalog,
    DiffuseDetector,
    IncompatibleResolutionError,
    InvalidImageError,
    SurveyMosaic,
)
from diffuseradio.models import UNet
from diffuseradio.training import TrainingConfig, export_model


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    config = TrainingConfig.from_dict(
        {
            "model": {"name": "mechanics", "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16},
        }
    )
    torch.manual_seed(1)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    card = export_model(network, config, tmp_path_factory.mktemp("model"))
    return DiffuseDetector.from_pretrained(card, device="cpu", precision="fp32")


def lotss_like(shape=(301, 287), rng=None, blank=True):
    rng = rng or np.random.default_rng(0)
    data = rng.normal(0, 70e-6, shape)
    if blank:
        data[:20] = np.nan
    return SurveyMosaic(data, lotss_wcs(shape), beam=6 * u.arcsec, meta={"path": "test.fits"})


def test_predict_on_input_grid_with_blanks(detector):
    mosaic = lotss_like()
    probability = detector.predict(mosaic)
    assert probability.shape == mosaic.shape
    assert probability.dtype == np.float32
    assert np.isnan(probability[:20]).all()
    finite = probability[20:]
    assert np.isfinite(finite).all()
    assert 0 <= finite.min() and finite.max() <= 1


def test_predict_with_test_time_augmentation(detector):
    mosaic = lotss_like()
    probability, spread = detector.predict(mosaic, augment=True, return_spread=True)
    assert probability.shape == spread.shape == mosaic.shape
    assert np.nanmin(spread) >= 0
    assert np.nanmax(spread) > 0  # an untrained network is not rotation invariant


def test_predict_native_working_grid_needs_no_resampling(detector):
    shape = (100, 90)
    mosaic = SurveyMosaic(
        np.random.default_rng(1).normal(0, 1e-4, shape),
        lotss_wcs(shape, pixel_scale=6 * u.arcsec),
        beam=20 * u.arcsec,
    )
    assert detector.predict(mosaic).shape == shape


def test_image_smaller_than_a_tile(detector):
    shape = (40, 50)  # 40 x 1.5" = 1', i.e. 10 x 12 pixels at 6"
    mosaic = SurveyMosaic(
        np.random.default_rng(2).normal(0, 7e-5, shape), lotss_wcs(shape), beam=6 * u.arcsec
    )
    assert detector.predict(mosaic).shape == shape


def test_spread_needs_augmentation(detector):
    with pytest.raises(ValueError, match="return_spread needs augment=True"):
        detector.predict(lotss_like(), augment=False, return_spread=True)


def test_refusals(detector):
    tiny = SurveyMosaic(np.ones((12, 12)), lotss_wcs((12, 12)), beam=6 * u.arcsec)
    with pytest.raises(InvalidImageError, match="at least 8 pixels"):
        detector.predict(tiny)
    coarse = SurveyMosaic(np.ones((50, 50)), lotss_wcs((50, 50), 60 * u.arcsec), beam=3 * u.arcmin)
    with pytest.raises(IncompatibleResolutionError, match="outside the 4-24 arcsec range"):
        detector.predict(coarse)
    with pytest.raises(ValueError, match="threshold"):
        detector.detect(lotss_like(), threshold=1.5)


def test_detections_grow_down_to_the_cards_low_threshold(tmp_path):
    config = TrainingConfig.from_dict(
        {
            "model": {"name": "grower", "args": {"depth": 2, "base_width": 4, "norm": "group"}},
            "grid": {"tile_size": 64, "tile_overlap": 16},
            "training": {"threshold": 0.6, "low_threshold": 0.45, "min_area_beams": 1.0},
        }
    )
    torch.manual_seed(1)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    grower = DiffuseDetector.from_pretrained(
        export_model(network, config, tmp_path), device="cpu", precision="fp32"
    )
    mosaic = lotss_like()
    grown = grower.detect(mosaic, augment=False)
    assert {k: grown.meta[k] for k in ("threshold", "low_threshold", "min_area_beams")} == {
        "threshold": 0.6,
        "low_threshold": 0.45,
        "min_area_beams": 1.0,
    }
    explicit = grower.detect(mosaic, low_threshold=0.45, min_area_beams=1, augment=False)
    assert np.array_equal(grown.segmentation, explicit.segmentation)
    plain = grower.detect(mosaic, low_threshold=0.6, augment=False)
    assert (grown.segmentation > 0).sum() > (plain.segmentation > 0).sum()
    assert np.all((grown.segmentation > 0)[plain.segmentation > 0])
    many = grower.detect(mosaic, threshold=0.65, low_threshold=0.65, augment=False)
    working_beam = grower.card.beam.sr.to(u.arcmin**2)  # min_area_beams counts these
    areas = np.sort((many.table["area"] / working_beam).to_value(u.one))
    assert len(areas) >= 2
    cut = (areas[0] + areas[-1]) / 2
    fewer = grower.detect(
        mosaic, threshold=0.65, low_threshold=0.65, min_area_beams=cut, augment=False
    )
    assert 0 < len(fewer) < len(many)
    assert np.all(fewer.table["area"] / working_beam >= 0.9 * cut)


def test_detect_returns_catalog_with_meta(detector):
    mosaic = lotss_like()
    catalog = detector.detect(mosaic, threshold=0.5, min_area_beams=1)
    assert isinstance(catalog, DetectionCatalog)
    assert catalog.segmentation.shape == mosaic.shape
    assert catalog.meta["model"] == "mechanics@0.1.0"
    probability = catalog.probability
    labelled = catalog.segmentation > 0
    assert np.all(probability[labelled] >= 0.5 - 1e-6) or not labelled.any()


def test_predict_returns_every_stage(detector):
    mosaic = lotss_like()
    probability, spread = detector.predict(mosaic, augment=True, return_spread=True)
    stages = detector.predict(mosaic, augment=True, return_spread=True, return_stages=True)
    np.testing.assert_array_equal(stages.probability, probability)
    np.testing.assert_array_equal(stages.spread, spread)
    # 6" at 1.5" pixels -> the working grid of 20" at 6" pixels, 4 times coarser.
    assert stages.matched.shape == (76, 72)
    assert stages.matched.beam.major == 20 * u.arcsec
    assert stages.network_input.shape == (1, *stages.matched.shape)
    assert stages.network_probability.shape == (1, *stages.matched.shape)
    assert stages.working_probability is stages.network_probability  # no island stage
    assert stages.island_labels is None and stages.island_scores is None
    assert detector.predict(mosaic, return_stages=True).spread is None


def test_stages_of_a_model_with_an_island_stage():
    from diffuseradio.examples import example_field_path

    detector = DiffuseDetector.from_pretrained(device="cpu")
    mosaic = SurveyMosaic.read(example_field_path())
    stages = detector.predict(mosaic, augment=False, return_stages=True)
    assert stages.island_labels.shape == stages.matched.shape
    assert len(stages.island_ids) == len(stages.island_scores) > 0
    assert set(np.unique(stages.island_labels)) >= set(stages.island_ids)
    # The island stage only raises the probability where the classifier finds
    # islands diffuse, and caps regions; elsewhere the network's stands.
    changed = stages.working_probability != stages.network_probability
    assert (stages.island_labels[changed[0]] > 0).mean() > 0.5
    np.testing.assert_array_equal(stages.probability, detector.predict(mosaic, augment=False))
