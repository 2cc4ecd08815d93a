"""Tests of island classifiers that read some cutout channels, and of their ensembles."""

import dataclasses

import numpy as np
import pytest
import torch
from test_islands import island_card
from test_registry import isolated, tiny_card, tiny_network  # noqa: F401 (autouse fixture)

from diffuseradio.cli import main
from diffuseradio.exceptions import ModelError
from diffuseradio.postprocess.islands import IslandSettings
from diffuseradio.models import (
    IslandClassifier,
    IslandEnsemble,
    classify_cutouts,
    load_model,
    save_model,
)
from diffuseradio.training import (
    IslandExamples,
    add_islands,
    combine_islands,
    train_island_classifier,
)

ARGS = {"widths": [4, 8, 8], "hidden": 8}


def member(channels, seed):
    torch.manual_seed(seed)
    return IslandClassifier(channels, 16, widths=(4, 8, 8), hidden=8).eval()


def test_channel_names_follow_the_cutout_layout():
    names = IslandSettings(subtract_compact=True, context_scale=2).channel_names(["t", "n"])
    assert names == [
        "t",
        "n",
        "subtracted",
        "probability",
        "mask",
        "context_t",
        "context_n",
        "context_subtracted",
        "context_probability",
        "context_mask",
    ]
    for settings in (IslandSettings(), IslandSettings(subtract_compact=True, context_scale=3)):
        assert len(settings.channel_names(["t", "n"])) == settings.channels(2)


def test_ensemble_averages_the_members_probabilities_on_their_own_channels():
    first, second = member(3, 0), member(2, 1)
    ensemble = IslandEnsemble([first, second], [[0, 1, 2], [0, 2]])
    x = torch.randn(6, 3, 16, 16)
    with torch.no_grad():
        mean = (torch.sigmoid(first(x)) + torch.sigmoid(second(x[:, [0, 2]]))) / 2
        torch.testing.assert_close(torch.sigmoid(ensemble(x)), mean)
    # with test-time augmentation: the mean of each member's augmented probability
    cutouts = x.numpy()
    expected = (
        classify_cutouts(first, cutouts, augment=True)
        + classify_cutouts(second, cutouts[:, [0, 2]], augment=True)
    ) / 2
    np.testing.assert_allclose(
        classify_cutouts(ensemble, cutouts, augment=True), expected, rtol=1e-5
    )
    # a channel no member reads changes nothing
    lone = IslandEnsemble([second], [[0, 2]])
    changed = x.clone()
    changed[:, 1] = 100.0
    with torch.no_grad():
        torch.testing.assert_close(lone(changed), lone(x))


@pytest.mark.parametrize(
    ("members", "channels", "message"),
    [
        ([], [], "needs one channel list per member"),
        (["a"], [[0], [1]], "needs one channel list per member"),
        ([3], [[0, 1]], "reading 3 channels got the channel indices"),
        ([2], [[1, 1]], "reading 2 channels got the channel indices"),
        ([2], [[-1, 0]], "reading 2 channels got the channel indices"),
    ],
)
def test_invalid_ensembles(members, channels, message):
    members = [member(m, 0) if isinstance(m, int) else m for m in members]
    with pytest.raises(ValueError, match=message):
        IslandEnsemble(members, channels)


def member_card(channels, **changes):
    return island_card(args={}, members=[{"channels": channels, "args": ARGS}], **changes)


def test_card_with_members_round_trips_through_the_registry(tmp_path):
    card = island_card(
        args={},
        members=[
            {"channels": ["tapered", "probability", "mask"], "args": ARGS},
            {"channels": ["mask", "tapered"], "args": ARGS},
        ],
    )
    assert card.island_channel_names == ["tapered", "probability", "mask"]
    ensemble = IslandEnsemble([member(3, 0), member(2, 1)], [[0, 1, 2], [2, 0]])
    network, card = add_islands(tiny_network(), card, ensemble, version="1.1")
    loaded = load_model(save_model(network, card, tmp_path), device="cpu", precision="fp32")
    assert isinstance(loaded.model.island_classifier, IslandEnsemble)
    assert loaded.model.island_classifier.channels == [[0, 1, 2], [2, 0]]
    assert loaded.card.island_settings == IslandSettings(min_area_beams=1.0, cutout_pixels=16)
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.island_classifier(x), ensemble(x))


@pytest.mark.parametrize(
    ("islands", "message"),
    [
        ({"members": []}, "non-empty list"),
        ({"members": {"channels": ["mask"]}}, "non-empty list"),
        ({"members": [{"channels": ["native"]}]}, "known channels are"),
        ({"members": [{"channels": "mask"}]}, "known channels are"),
        ({"members": [{"channels": []}]}, "known channels are"),
        ({"members": [{"channels": ["mask", "mask"]}]}, "got the channel indices"),
        ({"members": [{"channels": ["mask"], "depth": 2}]}, "a member is"),
        ({"members": [{"channels": ["mask"]}], "args": ARGS}, "each member its own 'args'"),
        ({"members": [{"channels": ["mask"], "args": {"depth": 3}}]}, "unexpected keyword"),
    ],
)
def test_invalid_members_in_a_card(islands, message):
    with pytest.raises(ModelError, match=message):
        tiny_card(islands=islands)


def smooth_or_pointlike(n, rng):
    """Islands of two kinds on the tapered channel; a probability channel of pure noise."""
    yy, xx = np.mgrid[:16, :16] - 8
    smooth = np.exp(-(yy**2 + xx**2) / (2 * 4.0**2))
    point = np.exp(-(yy**2 + xx**2) / (2 * 1.0**2))
    diffuse = rng.random(n) < 0.3
    cut = np.where(diffuse[:, None, None], smooth, point) * rng.uniform(1, 3, (n, 1, 1))
    noise = rng.normal(0, 1, cut.shape)
    cut = np.stack([cut + rng.normal(0, 0.3, cut.shape), noise, cut > 0.5], 1)
    fraction = diffuse.astype(np.float32)
    return IslandExamples(cut.astype(np.float16), diffuse, fraction, np.full(n, 10.0), np.arange(n))


def test_a_member_trains_on_its_own_channels():
    rng = np.random.default_rng(0)
    training, validation = smooth_or_pointlike(256, rng), smooth_or_pointlike(128, rng)
    card = member_card(["tapered", "mask"])
    classifier, history = train_island_classifier(
        card, training, validation, epochs=3, batch_size=32, seed=0
    )
    assert isinstance(classifier, IslandEnsemble) and classifier.channels == [[0, 2]]
    assert max(row["val_auc"] for row in history) > 0.95
    cutouts = validation.cutouts.astype(np.float32)
    scrambled = cutouts.copy()
    scrambled[:, 1] = rng.normal(0, 5, scrambled[:, 1].shape)
    np.testing.assert_array_equal(
        classify_cutouts(classifier, cutouts), classify_cutouts(classifier, scrambled)
    )
    with pytest.raises(ValueError, match="has 2 island classifiers"):
        two = island_card(args={}, members=[{"channels": ["mask"]}, {"channels": ["tapered"]}])
        train_island_classifier(two, training, validation, epochs=1)


@pytest.fixture
def two_models(tmp_path):
    """A model with one classifier on all channels and one whose member skips the probability."""
    whole, card = add_islands(tiny_network(), island_card(), member(3, 0), version="1.1")
    first = save_model(whole, card, tmp_path / "first")
    part = IslandEnsemble([member(2, 1)], [[0, 2]])
    network, card = add_islands(
        tiny_network(), member_card(["tapered", "mask"], region_threshold=0.3), part, version="1.2"
    )
    second = save_model(network, card, tmp_path / "second")
    return first, second


def test_combined_model_averages_the_classifiers(two_models, tmp_path):
    first, second = two_models
    network, card = combine_islands([first, second], version="2.0")
    assert card.version == "2.0" and card.islands["args"] == {}
    assert [m["channels"] for m in card.islands["members"]] == [
        ["tapered", "probability", "mask"],
        ["tapered", "mask"],
    ]
    assert card.island_settings.region_threshold is None  # the first model's
    assert [m["model"] for m in card.training["islands"]["members"]] == ["tiny@1.1", "tiny@1.2"]
    loaded = load_model(save_model(network, card, tmp_path / "combined"), device="cpu")
    cutouts = np.random.default_rng(2).normal(size=(5, 3, 16, 16)).astype(np.float32)
    scores = [
        classify_cutouts(load_model(m, device="cpu").model.island_classifier, cutouts, augment=True)
        for m in (first, second)
    ]
    np.testing.assert_allclose(
        classify_cutouts(loaded.model.island_classifier, cutouts, augment=True),
        np.mean(scores, axis=0),
        rtol=1e-5,
    )
    # combining a combination keeps each member on its channels
    _, again = combine_islands([save_model(network, card, tmp_path / "c2"), first], version="3.0")
    assert len(again.islands["members"]) == 3


def test_only_models_with_the_same_network_and_islands_combine(two_models, tmp_path):
    first, second = two_models
    with pytest.raises(ValueError, match="at least two"):
        combine_islands([first], version="2.0")
    other, card = add_islands(tiny_network(seed=5), island_card(), member(3, 0), version="1.3")
    with pytest.raises(ValueError, match="different segmentation networks"):
        combine_islands([first, save_model(other, card, tmp_path / "other")], version="2.0")
    wider, card = add_islands(
        tiny_network(), island_card(grow_snr=2.0), member(3, 0), version="1.4"
    )
    with pytest.raises(ValueError, match="find or cut out their islands differently"):
        combine_islands([first, save_model(wider, card, tmp_path / "wider")], version="2.0")
    plain = save_model(tiny_network(), tiny_card(), tmp_path / "plain")
    with pytest.raises(ValueError, match="has no island classifier"):
        combine_islands([first, plain], version="2.0")


def test_cli_combines_islands(two_models, tmp_path, capsys):
    first, second = two_models
    assert (
        main(
            [
                "combine-islands",
                str(first),
                str(second),
                "--version",
                "2.0",
                "--output",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    saved = capsys.readouterr().out.split("saved ")[-1].strip()
    loaded = load_model(saved, device="cpu")
    assert loaded.card.identifier == "tiny@2.0"
    assert len(loaded.model.island_classifier.members) == 2
    assert dataclasses.asdict(loaded.card.island_settings) == dataclasses.asdict(
        load_model(first, device="cpu").card.island_settings
    )
