"""Tests of the second stage: islands, their classifier, cards and the detector with it."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import lotss_wcs
from radio_beam import Beam
from test_registry import isolated, tiny_card, tiny_network  # noqa: F401 (autouse fixture)

from diffuseradio import DiffuseDetector, DiffuseRadioWarning, SurveyMosaic
from diffuseradio.exceptions import ModelError
from diffuseradio.models import (
    IslandClassifier,
    IslandSettings,
    classify_cutouts,
    load_model,
    save_model,
)
from diffuseradio.postprocess.islands import find_islands, island_cutouts, paint_islands
from diffuseradio.preprocess.normalization import normalize
from diffuseradio.training import (
    IslandExamples,
    TrainingConfig,
    add_islands,
    island_classifier,
    island_data,
    island_examples,
    train_island_classifier,
)


def as_input(snr):
    """S/N map -> the default normalisation's units."""
    return normalize(np.asarray(snr, np.float32), np.float32(1.0))


def test_islands_grow_from_seeds_and_respect_the_area_range():
    snr = np.zeros((40, 40), np.float32)
    snr[5:10, 5:10] = 4.0  # above grow, below seed: no island
    snr[20:30, 20:30] = 3.5
    snr[25, 25] = 6.0  # seeds a 100-pixel island
    snr[2:4, 30:32] = 9.0  # 4 pixels: below 2 beams of 4 pixels
    settings = IslandSettings(min_area_beams=2, max_area_beams=30)
    labels = find_islands(as_input(snr), 4.0, settings)
    assert labels.max() == 1 and (labels == 1).sum() == 100
    assert labels[20:30, 20:30].min() == 1
    # larger than max_area_beams (100 pixels > 20 beams of 4 pixels): dropped
    labels = find_islands(as_input(snr), 4.0, dataclasses.replace(settings, max_area_beams=20))
    assert labels.max() == 0


def test_island_thresholds_follow_the_normalisation():
    snr = np.zeros((20, 20), np.float32)
    snr[5:15, 5:15] = 4.0
    settings = IslandSettings(seed_snr=3.9, grow_snr=3.0, min_area_beams=1)
    softer = {"name": "snr_asinh", "parameters": {"softening": 10.0}}
    image = normalize(snr, np.float32(1.0), **softer)
    assert (find_islands(image, 4.0, settings, normalization=softer) == 1).sum() == 100
    assert (
        find_islands(
            image, 4.0, dataclasses.replace(settings, seed_snr=4.1), normalization=softer
        ).max()
        == 0
    )


def test_blanked_pixels_are_never_islands():
    snr = np.full((20, 20), 6.0, np.float32)
    snr[:, 10:] = np.nan
    labels = find_islands(as_input(snr), 4.0, IslandSettings(min_area_beams=1))
    assert (labels > 0).sum() == 200 and not labels[:, 10:].any()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grow_snr": 6.0}, "grow_snr <= seed_snr"),
        ({"min_area_beams": 400.0}, "min_area_beams < max_area_beams"),
        ({"cutout_pixels": 4}, "cutout_pixels must be an integer >= 8"),
        ({"region_threshold": 1.0}, "region_threshold must be None or in"),
        ({"region_threshold": 0.0}, "region_threshold must be None or in"),
        ({"region_cover": 0.0}, "region_cover must be in"),
    ],
)
def test_invalid_island_settings(changes, message):
    with pytest.raises(ValueError, match=message):
        IslandSettings(**changes)


def test_cutouts_are_centred_on_the_brightness_weighted_centroid():
    image = np.zeros((2, 50, 60), np.float32)
    image[0, 10:13, 40:43] = 1.0
    image[0, 11, 41] = 5.0  # symmetric island: centroid (11, 41)
    image[1] = np.arange(50)[:, None] * 100 + np.arange(60)[None, :]  # pixel index map
    labels = np.zeros((50, 60), np.int32)
    labels[10:13, 40:43] = 3
    labels[10:13, 44] = 4  # a neighbour inside the first cutout
    labels[45:50, 0:3] = 5  # at the corner: the cutout runs off the image
    ids, cutouts, centres = island_cutouts(image, labels, 16)
    assert ids.tolist() == [3, 4, 5]
    assert cutouts.shape == (3, 3, 16, 16)
    np.testing.assert_allclose(centres[0], [11, 41])
    assert cutouts[0, 1, 8, 8] == 11 * 100 + 41  # centroid at pixel size // 2
    assert cutouts[0, 0, 8, 8] == 5.0
    assert cutouts[0, 2].sum() == 9 and cutouts[0, 2, 7:10, 7:10].all()  # its own mask only
    np.testing.assert_allclose(centres[2], [47, 1])
    assert cutouts[2, 1, 8, 8] == 47 * 100 + 1
    assert (cutouts[2, :, 8 + 3 :, :] == 0).all() and (cutouts[2, :, :, : 8 - 1] == 0).all()
    assert cutouts[2, 2].sum() == 15
    assert island_cutouts(image, np.zeros_like(labels), 16)[1].shape == (0, 3, 16, 16)


def test_paint_raises_islands_only():
    probability = np.full((4, 4), 0.3, np.float32)
    labels = np.zeros((4, 4), np.int32)
    labels[0, :2], labels[3, 3] = 1, 2
    painted = paint_islands(probability, labels, np.array([1, 2]), np.array([0.9, 0.1]))
    assert painted.dtype == np.float32
    assert painted[0, :2].tolist() == pytest.approx([0.9, 0.9])
    assert painted[3, 3] == pytest.approx(0.3)  # a lower score does not lower the map
    assert (painted[1:3] == probability[1:3]).all()


def test_regions_mostly_on_rejected_islands_take_their_verdict():
    probability = np.zeros((20, 30), np.float32)
    probability[2:8, 2:12] = 0.98  # region A: 60 pixels, 24 of them on island 1
    probability[12:18, 2:12] = 0.98  # region B: 60 pixels, 9 of them on island 2
    probability[2:8, 18:28] = 0.98  # region C: two islands, one accepted
    probability[12:18, 18:28] = 0.6  # region D: all island 5
    labels = np.zeros((20, 30), np.int32)
    labels[2:6, 2:8] = 1
    labels[12:15, 2:5] = 2
    labels[2:5, 18:24], labels[5:8, 18:24] = 3, 4
    labels[12:18, 18:28] = 5
    ids, scores = np.array([1, 2, 3, 4, 5]), np.array([0.1, 0.1, 0.05, 0.9, 0.2])
    painted = paint_islands(probability, labels, ids, scores, region_threshold=0.5)
    assert painted.dtype == np.float32
    assert np.allclose(painted[2:8, 2:12], 0.1)  # A: capped at its island's score
    assert np.allclose(painted[12:18, 5:12], 0.98)  # B: the island covers 15 % < 30 %
    assert np.allclose(painted[12:15, 2:5], 0.98)  # ... and its low score lowers nothing
    assert np.allclose(painted[2:8, 24:28], 0.9)  # C: capped at its best island's score
    assert np.allclose(painted[2:5, 18:24], 0.9)
    assert np.allclose(painted[12:18, 18:28], 0.2)  # D: capped at island 5's score
    higher = paint_islands(probability, labels, ids, scores, region_threshold=0.7)
    assert np.allclose(higher[12:18, 18:28], 0.6)  # D is no region at 0.7
    covered = paint_islands(probability, labels, ids, scores, region_threshold=0.5,
                            region_cover=0.1)  # fmt: skip
    assert np.allclose(covered[12:18, 2:12], 0.1)  # B now counts as mostly island
    without = paint_islands(probability, labels, ids, scores)
    assert np.allclose(without[2:8, 2:12], 0.98)  # islands only raise without regions


def test_classifier_is_exactly_symmetric_with_augmentation():
    torch.manual_seed(0)
    classifier = IslandClassifier(2, 16, widths=(4, 8, 8), hidden=8).eval()
    cutouts = np.random.default_rng(0).normal(size=(3, 2, 16, 16)).astype(np.float32)
    plain = classify_cutouts(classifier, cutouts)
    assert plain.shape == (3,) and ((plain > 0) & (plain < 1)).all()
    averaged = classify_cutouts(classifier, cutouts, augment=True)
    rotated = classify_cutouts(classifier, np.rot90(cutouts, 1, axes=(2, 3)).copy(), augment=True)
    np.testing.assert_allclose(averaged, rotated, rtol=1e-5)
    assert classify_cutouts(classifier, np.zeros((0, 2, 16, 16))).shape == (0,)
    with pytest.raises(ValueError, match="divisible by 4"):
        IslandClassifier(1, 30)


def island_card(**changes):
    islands = {
        "min_area_beams": 1.0,
        "cutout_pixels": 16,
        "args": {"widths": [4, 8, 8], "hidden": 8},
    }
    return tiny_card(islands={**islands, **changes})


def test_card_with_islands_round_trips_through_the_registry(tmp_path):
    torch.manual_seed(1)
    classifier = IslandClassifier(3, 16, widths=(4, 8, 8), hidden=8).eval()
    network, card = add_islands(
        tiny_network(), island_card(), classifier, version="1.1", training={"seed": 3}
    )
    assert card.version == "1.1" and card.training["islands"] == {"seed": 3}
    assert card.weights_file == "tiny-1.1.safetensors" and card.island_channels == 3
    path = save_model(network, card, tmp_path)
    loaded = load_model(path, device="cpu", precision="fp32")
    assert loaded.card.island_settings == IslandSettings(min_area_beams=1.0, cutout_pixels=16)
    state = loaded.model.island_classifier.state_dict()
    assert all(torch.equal(state[k], v) for k, v in classifier.state_dict().items())
    x = torch.randn(5, 3, 16, 16)
    with torch.no_grad():  # the same up to memory layout (channels_last on load)
        torch.testing.assert_close(loaded.model.island_classifier(x), classifier(x))
    # a card without islands does not take these weights
    plain = dataclasses.replace(loaded.card, islands=None, sha256=None)
    with pytest.raises(ModelError, match="unexpected keys: island_classifier"):
        save_model(loaded.model, plain, tmp_path / "plain")


@pytest.mark.parametrize(
    ("islands", "message"),
    [
        ({"colour": 1}, "unknown keys"),
        ({"grow_snr": 9.0}, "grow_snr <= seed_snr"),
        ({"args": {"widths": [4, 8]}}, "three positive integers"),
        ({"args": {"depth": 3}}, "unexpected keyword"),
        ([], "expected a dict"),
        ({"subtract_compact": True}, r"unknown keys \['subtract_compact'\]"),
        ({"members": [{"channels": ["mask"]}]}, r"unknown keys \['members'\]"),
        ({"native_subpixels": 2}, r"unknown keys \['native_subpixels'\]"),
        ({"context_scale": 2}, r"unknown keys \['context_scale'\]"),
    ],
)
def test_invalid_islands_in_a_card(islands, message):
    with pytest.raises(ModelError, match=message):
        tiny_card(islands=islands)


def test_cards_from_before_the_context_view_was_removed_still_load():
    """lotss-diffuse-unet-2res 1.4.0's card records the removed context_scale at 1 (no-op)."""
    card = tiny_card(islands={"context_scale": 1, "cutout_pixels": 16})
    assert "context_scale" not in card.islands
    assert card.island_settings.cutout_pixels == 16


def test_islands_need_one_diffuse_class():
    with pytest.raises(ModelError, match="one diffuse class"):
        tiny_card(
            classes=["background", "halo", "relic"],
            architecture_args={"depth": 2, "base_width": 4, "num_classes": 3},
            islands={},
        )


class Constant(torch.nn.Module):
    """A segmentation network that always says 'not diffuse'."""

    def forward(self, x):
        return torch.full((x.shape[0], 1, *x.shape[2:]), -20.0)


def test_detector_raises_the_probability_over_diffuse_islands():
    card = island_card(min_area_beams=2.0)
    classifier = IslandClassifier(3, 16, widths=(4, 8, 8), hidden=8)
    torch.nn.init.zeros_(classifier.head[-1].weight)
    torch.nn.init.constant_(classifier.head[-1].bias, 3.0)  # every island: sigmoid(3)
    network = Constant()
    network.island_classifier = classifier
    detector = DiffuseDetector(network, card, device="cpu", precision="fp32")
    rng = np.random.default_rng(2)
    data = rng.normal(0, 1e-4, (96, 96)).astype(np.float32)
    yy, xx = np.mgrid[:96, :96]
    data += 5e-3 * np.exp(-((yy - 40) ** 2 + (xx - 50) ** 2) / (2 * 6.0**2))  # S/N ~ 50
    mosaic = SurveyMosaic(data, lotss_wcs((96, 96), 5 * u.arcsec), beam=Beam(20 * u.arcsec))
    probability = detector.predict(mosaic, augment=False)
    island = probability > 0.5
    assert probability[40, 50] == pytest.approx(1 / (1 + np.exp(-3)), rel=1e-5)
    assert island.sum() > 2 * mosaic.beam_area_pixels
    assert probability[~island].max() < 1e-6
    catalog = detector.detect(mosaic, augment=False)
    assert len(catalog) == 1


class Steep(torch.nn.Module):
    """A segmentation network that says 'diffuse' wherever the input's S/N exceeds ~3.5."""

    def forward(self, x):
        return 20.0 * (x[:, :1] - 1.0)


def test_detector_caps_the_region_of_a_rejected_island():
    classifier = IslandClassifier(3, 16, widths=(4, 8, 8), hidden=8)
    torch.nn.init.zeros_(classifier.head[-1].weight)
    torch.nn.init.constant_(classifier.head[-1].bias, -3.0)  # every island: sigmoid(-3)
    network = Steep()
    network.island_classifier = classifier
    rng = np.random.default_rng(2)
    data = rng.normal(0, 1e-4, (96, 96)).astype(np.float32)
    yy, xx = np.mgrid[:96, :96]
    data += 5e-3 * np.exp(-((yy - 40) ** 2 + (xx - 50) ** 2) / (2 * 6.0**2))  # S/N ~ 50
    mosaic = SurveyMosaic(data, lotss_wcs((96, 96), 5 * u.arcsec), beam=Beam(20 * u.arcsec))
    plain = DiffuseDetector(network, island_card(min_area_beams=2.0), device="cpu")
    capped = DiffuseDetector(
        network, island_card(min_area_beams=2.0, region_threshold=0.3), device="cpu"
    )
    assert plain.predict(mosaic, augment=False)[40, 50] > 0.99  # the network's own verdict
    assert len(plain.detect(mosaic, augment=False)) == 1
    probability = capped.predict(mosaic, augment=False)
    source = (yy - 40) ** 2 + (xx - 50) ** 2 < 10**2  # the island and the region around it
    assert probability[source].max() == pytest.approx(1 / (1 + np.exp(3)), rel=1e-4)
    with pytest.warns(DiffuseRadioWarning, match="no diffuse emission"):
        assert len(capped.detect(mosaic, augment=False)) == 0


@pytest.mark.parametrize(
    ("device", "precision", "focal_gamma"),
    [
        ("cpu", "fp32", 0.0),
        ("cpu", "bf16", 0.0),
        ("cpu", "fp32", 2.0),
        pytest.param(
            "cuda",
            "fp32",
            0.0,
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ),
    ],
)
def test_island_classifier_learns_to_tell_smooth_from_pointlike(device, precision, focal_gamma):
    """Training on islands of two kinds: the validation AUC climbs above chance."""
    rng = np.random.default_rng(0)

    def examples(n):
        yy, xx = np.mgrid[:16, :16] - 8
        smooth = np.exp(-(yy**2 + xx**2) / (2 * 4.0**2))
        point = np.exp(-(yy**2 + xx**2) / (2 * 1.0**2))
        diffuse = rng.random(n) < 0.3
        cut = np.where(diffuse[:, None, None], smooth, point) * rng.uniform(1, 3, (n, 1, 1))
        cut = np.stack([cut + rng.normal(0, 0.3, cut.shape), np.zeros_like(cut), cut > 0.5], 1)
        fraction = diffuse.astype(np.float32)
        return IslandExamples(
            cut.astype(np.float16), diffuse, fraction, np.full(n, 10.0), np.arange(n)
        )

    card = island_card()
    classifier, history = train_island_classifier(
        card,
        examples(256),
        examples(128),
        epochs=3,
        batch_size=32,
        seed=0,
        device=device,
        precision=precision,
        focal_gamma=focal_gamma,
    )
    assert len(history) == 3 and not classifier.training
    assert {p.device.type for p in classifier.parameters()} == {"cpu"}
    assert max(row["val_auc"] for row in history) > 0.95
    assert history[-1]["loss"] < history[0]["loss"]


def test_focal_island_loss_weighs_hard_islands_more():
    """gamma 0 is the class-balanced cross-entropy; gamma 2 keeps the misclassified
    islands' loss and all but drops the confidently right ones'."""
    logits = torch.tensor([4.0, -4.0, -4.0, 4.0])
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])  # two right, two wrong
    weight = torch.tensor(3.0)
    plain = island_classifier._island_loss(logits, labels, weight, 0.0)
    each = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    balanced = torch.tensor([3.0, 1.0, 3.0, 1.0]) * each
    assert plain.item() == pytest.approx(balanced.mean().item(), rel=1e-6)
    focal = island_classifier._island_loss(logits[2:], labels[2:], weight, 2.0)
    assert focal.item() == pytest.approx(balanced[2:].mean().item() * (1 / (1 + np.exp(-4))) ** 2)
    right = island_classifier._island_loss(logits[:2], labels[:2], weight, 2.0)
    assert right.item() < 1e-3 * balanced[:2].mean().item()
    with pytest.raises(ValueError, match="focal_gamma must be >= 0"):
        train_island_classifier(None, None, None, focal_gamma=-1.0)


@pytest.fixture
def tiny_fields(tmp_path):
    """A tiny saved model and the small 20" fields it is given (192 pixels of 6")."""
    config = TrainingConfig.from_dict(
        {
            "model": {"name": "tiny", "architecture": "unet", "classes": ["background", "diffuse"]},
            "grid": {"beam_arcsec": 20.0, "pixel_scale_arcsec": 6.0},
            "data": {"field_size": 192, "beam_jitter_arcsec": [20.0, 20.0]},
        }
    )
    model = save_model(tiny_network(), tiny_card(pixel_scale=6 * u.arcsec), tmp_path / "model")
    return model, config


def test_island_examples_from_simulated_fields(tiny_fields):
    model, config = tiny_fields
    settings = IslandSettings(cutout_pixels=16)
    examples = island_examples(model, config, settings, seed=4, count=2)
    again = island_examples(model, config, settings, seed=4, count=2)
    assert len(examples.diffuse) > 3 and examples.diffuse.any()
    assert examples.cutouts.shape[1:] == (3, 16, 16)
    assert (examples.area_beams >= 4).all() and (examples.area_beams <= 300).all()
    assert set(examples.field) == {0, 1}
    np.testing.assert_array_equal(examples.cutouts, again.cutouts)
    # labels: at least half of the island diffuse truth; relabelled at another fraction
    np.testing.assert_array_equal(examples.diffuse, examples.diffuse_fraction >= 0.5)
    assert ((examples.diffuse_fraction > 0) & (examples.diffuse_fraction < 0.5)).any()
    looser = examples.labelled(0.01)
    np.testing.assert_array_equal(looser.diffuse, examples.diffuse_fraction >= 0.01)
    assert looser.diffuse.sum() > examples.diffuse.sum()
    np.testing.assert_array_equal(looser.cutouts, examples.cutouts)
    with pytest.raises(ValueError, match="diffuse fraction"):
        examples.labelled(0)
    # channels: tapered input, the network's probability (in [0, 1]), the island's mask
    assert ((examples.cutouts[:, 1] >= 0) & (examples.cutouts[:, 1] <= 1)).all()
    assert set(np.unique(examples.cutouts[:, 2])) == {0, 1}
    assert (examples.cutouts[:, 2, 16 // 2, 16 // 2] == 1).mean() > 0.8  # centred on the island


def test_island_examples_cache_names_keep_their_recipe():
    """The settings hashed into the names of cached examples are those of the earlier
    versions (context_scale included), so that cached examples are found again."""
    recipe = island_data._recipe_settings(IslandSettings(cutout_pixels=16))
    assert recipe == {
        "seed_snr": 5.0,
        "grow_snr": 3.0,
        "min_area_beams": 4.0,
        "max_area_beams": 300.0,
        "cutout_pixels": 16,
        "context_scale": 1,
        "region_threshold": None,
        "region_cover": 0.3,
    }


def test_island_examples_keep_the_callers_thread_count(tiny_fields):
    """Fields simulated in this process use one thread, as in a worker, and leave the
    caller's thread count as it was (later inference runs on it)."""
    model, config = tiny_fields
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        island_examples(model, config, IslandSettings(cutout_pixels=16), seed=4, count=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_island_examples_are_cached_and_read_back(tiny_fields, tmp_path, monkeypatch):
    model, config = tiny_fields
    settings = IslandSettings(cutout_pixels=16)
    cache = tmp_path / "cache"
    first = island_examples(model, config, settings, seed=4, count=2, cache_dir=cache)
    (saved,) = cache.glob("*-training-*.npz")

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated again")

    monkeypatch.setattr(island_data, "simulated_field", no_simulation)
    again = island_examples(model, config, settings, seed=4, count=2, cache_dir=cache)
    for name in IslandExamples._fields:
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
        assert getattr(again, name).dtype == getattr(first, name).dtype
    # anything that makes other examples names another file: here the island settings
    with pytest.raises(AssertionError, match="simulated again"):
        island_examples(model, config, IslandSettings(cutout_pixels=24), seed=4, count=2,
                        cache_dir=cache)  # fmt: skip
    assert list(cache.glob("*.npz")) == [saved]
    # examples of an older format (no diffuse fractions) are refused with a clear error
    older = tmp_path / "older.npz"
    np.savez(older, cutouts=first.cutouts, diffuse=first.diffuse, area_beams=first.area_beams,
             field=first.field)  # fmt: skip
    with pytest.raises(ValueError, match="lacks diffuse_fraction.*simulate the examples again"):
        IslandExamples.load(older)


def test_island_examples_cache_blocks_are_reused_by_longer_runs(tiny_fields, tmp_path, monkeypatch):
    model, config = tiny_fields
    settings = IslandSettings(cutout_pixels=16)
    cache = tmp_path / "cache"
    monkeypatch.setattr(island_data, "CACHE_BLOCK_FIELDS", 2)
    island_examples(model, config, settings, seed=4, count=2, cache_dir=cache)
    simulated = []
    field = island_data.simulated_field

    def counted(config, seed, index, **kwargs):
        simulated.append(index)
        return field(config, seed, index, **kwargs)

    monkeypatch.setattr(island_data, "simulated_field", counted)
    longer = island_examples(model, config, settings, seed=4, count=3, cache_dir=cache)
    assert simulated == [2]  # fields 0 and 1 come from the first run's block
    assert len(list(cache.glob("*-training-*.npz"))) == 2
    assert sorted(set(longer.field)) == [0, 1, 2]
    uncached = island_examples(model, config, settings, seed=4, count=3)
    for name in IslandExamples._fields:
        np.testing.assert_array_equal(getattr(longer, name), getattr(uncached, name))
