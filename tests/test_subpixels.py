"""The native image's sub-pixels as island-classifier channels (``native_subpixels``)."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.wcs import WCS
from helpers import lotss_wcs
from test_channels import P205, card_with
from test_islands import island_card
from test_registry import isolated, tiny_card  # noqa: F401 (autouse fixture)

from diffuseradio import DiffuseDetector, IncompatibleResolutionError, SurveyMosaic
from diffuseradio.channels import model_input, space_to_depth, subpixel_grid
from diffuseradio.exceptions import ModelError
from diffuseradio.islands import IslandSettings, subpixel_names, subpixel_slot
from diffuseradio.models import (
    IslandClassifier,
    UNet,
    classify_cutouts,
    dihedral,
    load_model,
    save_model,
)
from diffuseradio.models.inference import DIHEDRAL
from diffuseradio.normalization import network_input
from diffuseradio.resolution import pixel_average
from diffuseradio.training import add_islands

TWO_CHANNELS = {
    "input_channels": [
        {"name": "tapered", "beam_arcsec": 20.0},
        {"name": "native", "beam_arcsec": 6.0},
    ],
    "architecture_args": {"depth": 2, "base_width": 4, "in_channels": 2},
}


def two_channel_card(**islands):
    """A card with a 6" native channel and an island stage with ``islands``."""
    base = {"min_area_beams": 1.0, "cutout_pixels": 16, "args": {"widths": [4, 8, 8], "hidden": 8}}
    return tiny_card(islands={**base, **islands}, **TWO_CHANNELS)


def two_channel_network():
    torch.manual_seed(0)
    return UNet(**TWO_CHANNELS["architecture_args"])


def test_settings_name_and_count_the_subpixel_channels():
    settings = IslandSettings(native_subpixels=2, subtract_compact=True)
    names = settings.channel_names(["tapered", "native"])
    assert names == [
        "tapered",
        "native",
        "subtracted",
        "native_sub_0_0",
        "native_sub_0_1",
        "native_sub_1_0",
        "native_sub_1_1",
        "probability",
        "mask",
    ]
    assert settings.channels(2) == len(names) == 9
    assert subpixel_slot(names) == (3, 2)
    assert subpixel_slot(["tapered", "mask"]) is None
    assert len(subpixel_names(3)) == 9 and IslandSettings(native_subpixels=3).channels(2) == 13


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"native_subpixels": 0}, "integer >= 1"),
        ({"native_subpixels": 2.0}, "integer >= 1"),
        ({"native_subpixels": True}, "integer >= 1"),
        ({"native_subpixels": 2, "context_scale": 2}, "context view"),
    ],
)
def test_invalid_subpixel_settings(changes, message):
    with pytest.raises(ValueError, match=message):
        IslandSettings(**changes)


@pytest.mark.parametrize(
    "names",
    [
        ["native_sub_0_0", "native_sub_0_1", "native_sub_1_0"],  # one missing
        ["native_sub_0_1", "native_sub_0_0", "native_sub_1_0", "native_sub_1_1"],  # out of order
    ],
)
def test_a_classifier_reads_all_subpixels_in_order_or_none(names):
    with pytest.raises(ValueError, match="all the native_sub_a_b channels, in order"):
        subpixel_slot(["tapered", *names, "mask"])


def test_subpixel_grid_cuts_each_pixel_into_k_by_k():
    for cd in (False, True):
        wcs = lotss_wcs((40, 50), 6 * u.arcsec)
        if cd:  # the same grid written with a CD matrix
            header = wcs.to_header()
            header["CD1_1"], header["CD2_2"] = header.pop("CDELT1"), header.pop("CDELT2")
            wcs = WCS(header)
            assert wcs.wcs.has_cd()
        coarse = SurveyMosaic(np.zeros((40, 50), np.float32), wcs, beam=20 * u.arcsec)
        for k in (2, 3):
            fine, shape = subpixel_grid(coarse, k)
            assert shape == (40 * k, 50 * k)
            scales = u.Quantity(fine.proj_plane_pixel_scales())
            assert u.allclose(scales, 6 * u.arcsec / k)
            # a coarse pixel's centre is the centre of its k x k block of fine pixels
            y, x = np.mgrid[:40:7, :50:9]
            centres = coarse.wcs.pixel_to_world(x, y)
            blocks = fine.pixel_to_world(k * x + (k - 1) / 2, k * y + (k - 1) / 2)
            assert centres.separation(blocks).max() < 1e-4 * u.arcsec


def test_space_to_depth_orders_subpixels_as_pixel_unshuffle():
    image = np.random.default_rng(0).normal(size=(12, 18)).astype(np.float32)
    for k in (2, 3):
        channels = space_to_depth(image, k)
        expected = torch.nn.functional.pixel_unshuffle(torch.from_numpy(image)[None, None], k)
        np.testing.assert_array_equal(channels, expected[0].numpy())


def test_rotations_move_the_subpixels_with_the_finer_image():
    rng = np.random.default_rng(1)
    fine = rng.normal(size=(16, 16)).astype(np.float32)
    coarse = rng.normal(size=(3, 8, 8)).astype(np.float32)
    cutouts = torch.from_numpy(np.concatenate([coarse[:2], space_to_depth(fine, 2), coarse[2:]]))
    for k, flip in DIHEDRAL:
        turned = dihedral(cutouts[None], k, flip, (2, 2))[0]
        expected_fine = np.rot90(fine, k)[:, ::-1] if flip else np.rot90(fine, k)
        np.testing.assert_array_equal(turned[2:6].numpy(), space_to_depth(expected_fine, 2))
        expected = np.rot90(coarse, k, axes=(1, 2))
        expected = expected[:, :, ::-1] if flip else expected
        np.testing.assert_array_equal(turned[[0, 1, 6]].numpy(), expected)


def test_augmented_classification_is_symmetric_with_subpixels():
    """Averaged over the 8 rotations and flips, a rotated cutout scores the same -- only
    when the sub-pixels rotate with it."""
    torch.manual_seed(0)
    classifier = IslandClassifier(7, 16, widths=(4, 8, 8), hidden=8, subpixels=(1, 2)).eval()
    with torch.no_grad():  # probabilities spread over (0, 1), not all close to one value
        classifier.head[-1].weight *= 100
    cutouts = torch.randn(4, 7, 16, 16)
    turned = dihedral(cutouts, 1, True, (1, 2)).numpy()
    averaged = classify_cutouts(classifier, cutouts.numpy(), augment=True)
    np.testing.assert_allclose(classify_cutouts(classifier, turned, augment=True), averaged,
                               rtol=1e-5)  # fmt: skip
    naive = np.rot90(cutouts.numpy(), 1, axes=(2, 3))[..., ::-1].copy()
    assert np.abs(classify_cutouts(classifier, naive, augment=True) - averaged).max() > 1e-3
    with pytest.raises(ValueError, match="do not fit in 4 cutout channels"):
        IslandClassifier(4, 16, subpixels=(1, 2))


def test_cards_with_subpixels(tmp_path):
    card = two_channel_card(native_subpixels=2)
    assert card.island_channels == 8
    classifier = IslandClassifier(8, 16, widths=(4, 8, 8), hidden=8, subpixels=(2, 2)).eval()
    network, card = add_islands(two_channel_network(), card, classifier, version="1.1")
    loaded = load_model(save_model(network, card, tmp_path), device="cpu", precision="fp32")
    assert loaded.card.island_settings.native_subpixels == 2
    assert loaded.model.island_classifier.subpixels == (2, 2)
    with pytest.raises(ModelError, match="native_subpixels needs a model with a native channel"):
        island_card(native_subpixels=2)


@pytest.fixture(scope="module")
def with_subpixels(tmp_path_factory):
    """A two-channel detector whose island classifier reads the 6" image at 3" pixels."""
    detector = card_with(6.0, tmp_path_factory.mktemp("sub"))
    islands = {"min_area_beams": 1.0, "cutout_pixels": 16, "native_subpixels": 2, "args": {}}
    card = dataclasses.replace(detector.card, islands={**islands, "args": {"hidden": 8}})
    torch.manual_seed(3)
    classifier = IslandClassifier(8, 16, hidden=8, subpixels=(2, 2)).eval()
    network, card = add_islands(detector.model, card, classifier, version="1.1")
    return DiffuseDetector(network, card, device="cpu", precision="fp32")


def test_subpixel_channels_of_a_real_6_arcsec_image(with_subpixels, real_data_path):
    lotss_6 = SurveyMosaic.read(real_data_path(*P205))
    matched, image = model_input(with_subpixels.card, lotss_6)
    assert image.shape == (6, *matched.shape) and np.isfinite(image).all()
    # the sub-pixels rebuild the 6" image averaged over 3" pixels, normalised with its noise
    wcs, shape = subpixel_grid(matched, 2)
    fine = torch.nn.functional.pixel_shuffle(torch.from_numpy(image[None, 2:]), 2)[0, 0].numpy()
    assert fine.shape == shape
    # the brightest compact source: where the 1.5" image peaks on the sky, to within a
    # 3" pixel in the sub-pixels (the working grid's 6" pixels place it within 6")
    peak = np.unravel_index(np.nanargmax(lotss_6.data), lotss_6.shape)
    sky = lotss_6.wcs.pixel_to_world(peak[1], peak[0])
    fine_peak = np.unravel_index(np.argmax(fine), fine.shape)
    assert wcs.pixel_to_world(fine_peak[1], fine_peak[0]).separation(sky) < 2.2 * u.arcsec
    # the channels are the image as pixel_average and network_input make it
    averaged = pixel_average(lotss_6, SurveyMosaic(np.zeros(shape, np.float32), wcs,
                                                   beam=lotss_6.beam))  # fmt: skip
    expected, _ = network_input(averaged, rms_box_beams=30.0 * 20 / 6)
    np.testing.assert_allclose(fine, expected, atol=1e-6)


def test_detector_classifies_islands_with_subpixels(with_subpixels, real_data_path):
    lotss_6 = SurveyMosaic.read(real_data_path(*P205))
    probability = with_subpixels.predict(lotss_6, augment=True)
    assert probability.shape == lotss_6.shape
    assert np.nanmin(probability) >= 0 and np.nanmax(probability) <= 1
    # a native image regridded to pixels coarser than the sub-pixels is refused, saying why
    noise = np.random.default_rng(0).normal(0, 1e-4, (300, 300)).astype(np.float32)
    coarse = SurveyMosaic(noise, lotss_wcs(noise.shape, 3.2 * u.arcsec), beam=6 * u.arcsec)
    with pytest.raises(IncompatibleResolutionError, match="at 3 arcsec pixels, but its pixels"):
        with_subpixels.predict(coarse)
