"""Tests of the networks (U-Net, TransUNet) and of the model cards."""

import json

import astropy.units as u
import pytest
import torch
from radio_beam import Beam

from diffuseradio.exceptions import ModelError
from diffuseradio.models import ARCHITECTURES, ModelCard, TransUNet, UNet, build_network
from diffuseradio.models.transunet import sincos_position_embedding
from diffuseradio.models.unet import pad_to_multiple

TINY_TRANSFORMER = {"embed_dim": 8, "num_heads": 2, "num_layers": 1}

NETWORKS = [
    (UNet, {"depth": 2, "base_width": 4}),
    (UNet, {"depth": 3, "base_width": 4, "norm": "group", "upsampling": "bilinear"}),
    (UNet, {"depth": 2, "base_width": 4, "norm": "instance", "dropout": 0.2}),
    (UNet, {"depth": 1, "base_width": 4, "norm": None, "in_channels": 2, "num_classes": 4}),
    (TransUNet, {"depth": 2, "base_width": 4, **TINY_TRANSFORMER}),
    (TransUNet, {"depth": 3, "base_width": 4, "norm": "group", **TINY_TRANSFORMER}),
    (
        TransUNet,
        {"depth": 2, "base_width": 4, "in_channels": 2, "num_classes": 3, **TINY_TRANSFORMER},
    ),
]


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize(("cls", "kwargs"), NETWORKS)
@pytest.mark.parametrize("shape", [(37, 53), (32, 32), (5, 3)])
def test_forward_shape_any_size(cls, kwargs, shape):
    net = cls(**kwargs).eval()
    channels = kwargs.get("in_channels", 1)
    with torch.no_grad():
        out = net(torch.randn(2, channels, *shape))
    assert out.shape == (2, kwargs.get("num_classes", 1), *shape)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("cls", "kwargs"), NETWORKS[::3])
def test_training_step_reaches_every_parameter(cls, kwargs):
    net = cls(**kwargs).train()
    channels = kwargs.get("in_channels", 1)
    net(torch.randn(2, channels, 37, 21)).square().mean().backward()
    without = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.any()]
    assert without == []


def test_transformer_sees_the_whole_tile():
    # A change in one corner reaches the opposite corner only through the
    # transformer's global attention; the small U-Net's receptive field is
    # smaller than the tile.
    x = torch.randn(1, 1, 64, 64)
    y = x.clone()
    y[..., :4, :4] += 10.0
    far = (slice(None), slice(None), slice(-8, None), slice(-8, None))
    changes = {}
    for cls, kwargs in [(UNet, {}), (TransUNet, TINY_TRANSFORMER)]:
        torch.manual_seed(0)
        net = cls(depth=2, base_width=4, **kwargs).eval()
        with torch.no_grad():
            changes[cls] = (net(x) - net(y))[far].abs().max().item()
    assert changes[UNet] == 0.0
    assert changes[TransUNet] > 0.0


def test_position_embedding_is_the_same_grid_at_every_tile_size():
    small = sincos_position_embedding(3, 5, 16).reshape(3, 5, 16)
    large = sincos_position_embedding(8, 7, 16).reshape(8, 7, 16)
    torch.testing.assert_close(small, large[:3, :5])
    assert small.abs().max() <= 1.0
    rows = small.reshape(15, 16)
    assert torch.cdist(rows, rows).add(torch.eye(15)).min() > 0.1  # all positions differ


def test_position_embedding_needs_multiple_of_four():
    with pytest.raises(ValueError, match="multiple of 4"):
        sincos_position_embedding(2, 2, 6)


def test_pad_to_multiple_reflects_and_replicates():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 4)
    torch.testing.assert_close(padded[0, 0, 3], x[0, 0, 1])  # reflection of row 1
    tiny = pad_to_multiple(torch.ones(1, 1, 1, 2), 4, min_size=8)
    assert tiny.shape == (1, 1, 8, 8)
    assert (tiny == 1).all()  # too small to reflect: edge replicated
    even = x[..., :2, :]
    assert pad_to_multiple(even, 2) is even  # nothing to pad


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"norm": "layer"}, "norm must be one of"),
        ({"upsampling": "nearest"}, "upsampling must be one of"),
        ({"depth": 0}, "depth must be a positive integer"),
        ({"base_width": 2.5}, "base_width must be a positive integer"),
        ({"dropout": 1.0}, "dropout must be in"),
    ],
)
def test_invalid_network_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UNet(**kwargs)


def test_invalid_transformer_arguments():
    with pytest.raises(ValueError, match="multiple of 4 and of num_heads=4"):
        TransUNet(depth=2, base_width=4, embed_dim=10, num_heads=4)
    with pytest.raises(ValueError, match="mlp_ratio"):
        TransUNet(depth=2, base_width=4, embed_dim=8, num_heads=2, mlp_ratio=0)


def test_wrong_input_shape_is_refused():
    net = UNet(in_channels=2, depth=2, base_width=4)
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\), got \(1, 1, 8, 8\)"):
        net(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="got \\(8, 8\\)"):
        net(torch.zeros(8, 8))


# --- model cards ------------------------------------------------------------


def make_card(**changes):
    """A valid card of a tiny U-Net; keyword arguments replace fields."""
    fields = {
        "name": "tiny-unet",
        "version": "0.1.0",
        "architecture": "unet",
        "architecture_args": {"depth": 2, "base_width": 4},
        "input_channels": [{"name": "tapered", "beam_arcsec": 20}],
        "classes": ["background", "diffuse"],
        "beam": Beam(major=20 * u.arcsec, minor=18 * u.arcsec, pa=30 * u.deg),
        "pixel_scale": 5 * u.arcsec,
        "accepted_beam_range": [6, 60] * u.arcsec,
        "tile_size": 64,
        "tile_overlap": 16,
        "normalization": {"name": "snr_asinh", "parameters": {"softening": 3.0}},
        "threshold": 0.5,
        "weights_file": "tiny-unet.safetensors",
        "training": {"data": "simulated", "command": "diffuseradio train", "seed": 7},
        "metrics": {"iou": 0.5},
    }
    fields.update(changes)
    return ModelCard(**fields)


def test_card_quantities_and_json_round_trip(tmp_path):
    card = make_card(pixel_scale=0.1 * u.arcmin, sha256="AB" * 32)
    assert isinstance(card.beam, Beam)
    assert card.pixel_scale.unit == u.arcsec
    assert card.pixel_scale.value == pytest.approx(6.0)
    assert card.accepted_beam_range.unit == u.arcsec
    assert card.sha256 == "ab" * 32
    assert card.identifier == "tiny-unet@0.1.0"
    data = json.loads(card.to_json())
    assert data["beam"] == {"major_arcsec": 20.0, "minor_arcsec": 18.0, "pa_deg": 30.0}
    assert data["accepted_beam_arcsec"] == {"min": 6.0, "max": 60.0}
    card.write(tmp_path / "card.json")
    assert ModelCard.read(tmp_path / "card.json") == card
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]
    assert ModelCard.from_dict(data) == card
    assert make_card(threshold=0.4) != card


def test_card_optional_keys_have_defaults():
    data = json.loads(make_card().to_json())
    for key in (
        "low_threshold",
        "min_area_beams",
        "training",
        "metrics",
        "license",
        "citation",
        "description",
        "url",
        "sha256",
    ):
        del data[key]
    del data["beam"]["pa_deg"]
    card = ModelCard.from_dict(data)
    assert card.sha256 is None and card.url is None and card.training == {}
    assert card.low_threshold == card.threshold  # no growth
    assert card.min_area_beams == 4.0
    assert card.beam.pa == 0 * u.deg


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("threshold"), "missing required keys: threshold"),
        (lambda d: d.update(colour="red"), "unknown keys: colour"),
        (lambda d: d.update(architecture="resnet"), "unknown 'resnet'; known: unet, transunet"),
        (lambda d: d["architecture_args"].update(width=3), "architecture_args: not accepted"),
        (lambda d: d["normalization"].update(name="zscale"), "known: snr_asinh"),
        (lambda d: d["normalization"]["parameters"].update(gain=2), "not accepted by 'snr_asinh'"),
        (lambda d: d.update(input_channels=[]), "at least one channel"),
        (
            lambda d: d["input_channels"].append({"name": "native", "beam_arcsec": 6.0}),
            "2 described but the network takes 1",
        ),
        (
            lambda d: d["input_channels"].append({"name": "native", "beam_arcsec": 30.0}),
            "finer than the working beam",
        ),
        (
            lambda d: d["input_channels"].append({"name": "native"}),
            "native.beam_arcsec: expected a number",
        ),
        (
            lambda d: d.update(input_channels=[{"name": "radio"}]),
            "expected the channels",
        ),
        (lambda d: d.update(classes=["a", "b", "c"]), "3 classes do not match num_classes=1"),
        (lambda d: d.update(classes=["diffuse"]), "at least two distinct names"),
        (lambda d: d.update(weights_file="model.pt"), "pickled weights"),
        (lambda d: d.update(weights_file="../model.safetensors"), "bare file name"),
        (lambda d: d.update(threshold=1.5), "threshold: must be in \\(0, 1\\)"),
        (lambda d: d.update(threshold="high"), "threshold: expected a number"),
        (lambda d: d.update(low_threshold=0.6), "low_threshold: must be in \\(0, threshold=0.5\\]"),
        (lambda d: d.update(low_threshold=0), "low_threshold: must be in"),
        (lambda d: d.update(min_area_beams=-2), "min_area_beams: must be >= 0"),
        (lambda d: d.update(tile_overlap=64), "tile_overlap: must be in \\[0, tile_size\\)"),
        (lambda d: d.update(tile_size=64.0), "tile_size: expected an integer"),
        (lambda d: d.update(sha256="xyz"), "sha256: expected 64 hex digits"),
        (lambda d: d.update(version="one"), "not a PEP 440 version"),
        (lambda d: d.update(name="tiny unet"), "name: use only letters"),
        (lambda d: d.update(url="ftp://host/x.safetensors"), "url: expected an http"),
        (lambda d: d["beam"].update(minor_arcsec=30), "Minor axis greater than major axis"),
        (lambda d: d.update(pixel_scale_arcsec="5"), "expected a number"),
        (lambda d: d.update(accepted_beam_arcsec={"min": 60, "max": 6}), "0 < min <= max"),
        (lambda d: d.update(training=[1]), "training: expected a dict"),
    ],
)
def test_invalid_card_json_is_refused(edit, message):
    data = json.loads(make_card().to_json())
    edit(data)
    with pytest.raises(ModelError, match=message):
        ModelCard.from_dict(data, source="card.json")


def test_detection_settings_default_to_the_cards():
    card = make_card(threshold=0.8, low_threshold=0.4, min_area_beams=16.0)
    assert card.detection_settings() == {
        "threshold": 0.8,
        "low_threshold": 0.4,
        "min_area_beams": 16.0,
    }
    assert card.detection_settings(0.9, min_area_beams=2)["min_area_beams"] == 2.0
    assert card.detection_settings(0.9)["low_threshold"] == 0.4
    assert card.detection_settings(0.3)["low_threshold"] == 0.3  # never above the seed
    assert card.detection_settings(0.9, 0.9)["low_threshold"] == 0.9
    with pytest.raises(ValueError, match="threshold must be in \\(0, 1\\), got 1.5"):
        card.detection_settings(1.5)
    with pytest.raises(ValueError, match="low_threshold must be in \\(0, threshold=0.5\\]"):
        card.detection_settings(0.5, 0.7)
    with pytest.raises(ValueError, match="min_area_beams must be >= 0"):
        card.detection_settings(min_area_beams=-1)


def test_card_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelError, match="bad.json: invalid JSON"):
        ModelCard.read(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ModelError, match="expected a JSON object, got list"):
        ModelCard.read(bad)
    with pytest.raises(FileNotFoundError):
        ModelCard.read(tmp_path / "absent.json")


def test_card_needs_angle_quantities():
    with pytest.raises(ModelError, match="pixel_scale: expected an angle Quantity"):
        make_card(pixel_scale=5.0)
    with pytest.raises(ModelError, match="accepted_beam_range: expected an angle"):
        make_card(accepted_beam_range=[6, 60] * u.Jy)


def test_card_with_unserialisable_metadata():
    with pytest.raises(ModelError, match="not JSON-serialisable"):
        make_card(metrics={"iou": float("nan")}).to_json()


def test_build_network_from_card():
    net = build_network(make_card())
    assert type(net) is UNet and not net.training
    assert net.stride == 4
    transunet = build_network(
        make_card(
            architecture="transunet",
            architecture_args={"depth": 2, "base_width": 4, "num_classes": 3, **TINY_TRANSFORMER},
            classes=["background", "halo", "relic"],
        )
    )
    assert type(transunet) is TransUNet and transunet.num_classes == 3
    assert set(ARCHITECTURES) == {"unet", "transunet"}
    with pytest.raises(ModelError, match="architecture_args: depth must be a positive integer"):
        build_network(make_card(architecture_args={"depth": 0}))


def test_card_probabilities():
    logits = torch.tensor([[[[0.0, 2.0]]]])
    binary = make_card()
    torch.testing.assert_close(binary.probabilities(logits), torch.sigmoid(logits))
    multi = make_card(architecture_args={"num_classes": 3}, classes=["background", "halo", "relic"])
    probabilities = multi.probabilities(torch.randn(2, 3, 4, 5, dtype=torch.bfloat16))
    assert probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(2, 4, 5))
