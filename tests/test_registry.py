"""Tests of the model registry: saving, loading, downloads, safety."""

import dataclasses
import functools
import hashlib
import http.server
import json
import os
import threading

import astropy.units as u
import pytest
import safetensors.torch
import torch
from radio_beam import Beam

from diffuseradio.detector import DiffuseDetector
from diffuseradio.exceptions import ChecksumError, ModelError, ModelNotFoundError, OfflineError
from diffuseradio.models import (
    ModelCard,
    UNet,
    available_models,
    load_model,
    register_model,
    registry,
    save_model,
    to_device,
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """An empty registry, a private cache and no offline setting."""
    monkeypatch.setattr(registry, "_REGISTERED", {})
    monkeypatch.setattr(registry, "_BUNDLED", tmp_path / "bundled")
    monkeypatch.setattr(registry, "DEFAULT_MODEL", None)
    monkeypatch.setenv("DIFFUSERADIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DIFFUSERADIO_REGISTRY", raising=False)
    monkeypatch.delenv("DIFFUSERADIO_OFFLINE", raising=False)


def tiny_card(**changes):
    fields = {
        "name": "tiny",
        "version": "1.0",
        "architecture": "unet",
        "architecture_args": {"depth": 2, "base_width": 4},
        "input_channels": [{"name": "tapered", "beam_arcsec": 20}],
        "classes": ["background", "diffuse"],
        "beam": Beam(20 * u.arcsec),
        "pixel_scale": 5 * u.arcsec,
        "accepted_beam_range": [6, 60] * u.arcsec,
        "tile_size": 64,
        "tile_overlap": 16,
        "normalization": {"name": "snr_asinh", "parameters": {}},
        "threshold": 0.5,
        "weights_file": "tiny.safetensors",
        "description": "a tiny test network",
    }
    fields.update(changes)
    return ModelCard(**fields)


def tiny_network(seed=0):
    """A tiny U-Net with non-trivial weights and normalisation statistics."""
    torch.manual_seed(seed)
    net = UNet(depth=2, base_width=4)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(17)
    return net.eval()


@pytest.fixture
def saved(tmp_path):
    """(network, card path) of a tiny model saved in tmp_path/models."""
    net = tiny_network()
    return net, save_model(net, tiny_card(), tmp_path / "models")


def outputs(net):
    x = to_device(torch.randn(2, 1, 37, 53, generator=torch.Generator().manual_seed(1)), "cpu")
    with torch.no_grad():
        return to_device(net, "cpu")(x)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_and_load_round_trip(saved, tmp_path):
    net, card_path = saved
    folder = tmp_path / "models"
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.json", "tiny.safetensors"]
    card = ModelCard.read(card_path)
    assert card.sha256 == sha256(folder / "tiny.safetensors")
    assert dataclasses.replace(card, sha256=None) == tiny_card()
    expected = outputs(net)
    for spec in [card_path, str(folder / "tiny.safetensors")]:
        loaded = load_model(spec, device="cpu", precision="fp32")
        assert loaded.card == card
        assert loaded.device == torch.device("cpu") and loaded.precision == torch.float32
        assert not loaded.model.training
        state = loaded.model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
        assert torch.equal(outputs(loaded.model), expected)
    weights = safetensors.torch.load_file(folder / "tiny.safetensors")
    assert set(weights) == set(net.state_dict())


def test_save_refuses_a_network_that_does_not_fit_the_card(tmp_path):
    with pytest.raises(ModelError, match="describes a TransUNet, not a UNet"):
        save_model(tiny_network(), tiny_card(architecture="transunet"), tmp_path)
    with pytest.raises(ModelError, match="shape or type mismatch: decoder.blocks.0.0.weight"):
        save_model(tiny_network(), tiny_card(architecture_args={"depth": 2}), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_empty_registry():
    table = available_models()
    assert len(table) == 0
    assert table.colnames == [
        "name",
        "version",
        "architecture",
        "beam_major",
        "beam_minor",
        "pixel_scale",
        "min_beam",
        "max_beam",
        "threshold",
        "worst_cell",
        "source",
        "default",
        "description",
    ]
    assert table["pixel_scale"].unit == u.arcsec
    with pytest.raises(ModelNotFoundError, match="no default model.*no models are registered"):
        load_model()
    with pytest.raises(ModelNotFoundError, match="no model named 'halo-finder'; no models"):
        load_model("halo-finder")
    with pytest.raises(ModelNotFoundError, match="no default model"):
        DiffuseDetector.from_pretrained()


def test_registered_names_and_versions(saved, tmp_path):
    net, card_path = saved
    newer = save_model(tiny_network(seed=1), tiny_card(version="1.10"), tmp_path / "newer")
    register_model(card_path)
    register_model(newer)
    table = available_models()
    assert list(table["version"]) == ["1.0", "1.10"]
    assert list(table["source"]) == ["user", "user"]
    assert table["beam_major"][0] == 20 * u.arcsec
    assert table["description"][0] == "a tiny test network"
    assert load_model("tiny").card.version == "1.10"
    assert load_model("tiny@1.0").card.version == "1.0"
    assert load_model("tiny", version="1.0").card.version == "1.0"
    assert torch.equal(outputs(load_model("tiny@1.0").model), outputs(net))
    with pytest.raises(ModelNotFoundError, match="no version '2.0'; versions: 1.0, 1.10"):
        load_model("tiny@2.0")
    with pytest.raises(ModelNotFoundError, match="no model named 'tinier'; available: tiny@1.0"):
        load_model("tinier")
    with pytest.raises(ValueError, match="conflicting versions"):
        load_model("tiny@1.0", version="1.10")
    with pytest.raises(ValueError, match="invalid version 'latest'"):
        load_model("tiny@latest")


def test_folder_named_like_a_model_does_not_shadow_it(saved, tmp_path, monkeypatch):
    _, card_path = saved
    register_model(card_path)
    (tmp_path / "tiny").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_model("tiny").card.identifier == "tiny@1.0"


def test_register_card_object_needs_its_folder(saved, tmp_path):
    _, card_path = saved
    card = ModelCard.read(card_path)
    with pytest.raises(ModelError, match="has no url: give the directory"):
        register_model(card)
    register_model(card, directory=tmp_path / "models")
    assert load_model("tiny").card == card


def test_bundled_and_default_model(saved, tmp_path, monkeypatch):
    _, card_path = saved
    monkeypatch.setattr(registry, "_BUNDLED", card_path.parent)
    monkeypatch.setattr(registry, "DEFAULT_MODEL", "tiny")
    table = available_models()
    assert list(table["source"]) == ["bundled"] and list(table["default"]) == [True]
    assert load_model().card.identifier == "tiny@1.0"
    detector = DiffuseDetector.from_pretrained(device="cpu", precision="fp32")
    assert repr(detector) == (
        "DiffuseDetector(model='tiny@1.0', architecture='unet', device='cpu', precision='float32')"
    )
    assert detector.card.threshold == 0.5
    assert len(DiffuseDetector.available_models()) == 1


def test_environment_registry(saved, tmp_path, monkeypatch):
    _, card_path = saved
    other = save_model(tiny_network(), tiny_card(name="other"), tmp_path / "other")
    monkeypatch.setenv("DIFFUSERADIO_REGISTRY", f"{card_path.parent}{os.pathsep}{other}")
    assert list(available_models()["name"]) == ["other", "tiny"]
    monkeypatch.setenv("DIFFUSERADIO_REGISTRY", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere does not exist.*DIFFUSERADIO_REGISTRY"):
        available_models()


def test_tampered_weights_are_refused(saved):
    _, card_path = saved
    weights = card_path.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="modified or corrupted"):
        load_model(card_path)


def test_requested_sha256_must_match(saved):
    _, card_path = saved
    with pytest.raises(ChecksumError, match="the requested sha256"):
        load_model(card_path, sha256="0" * 64)
    digest = ModelCard.read(card_path).sha256
    assert load_model(card_path, sha256=digest.upper()).card.sha256 == digest


def rewrite_weights(card_path, data):
    """Replace the weights with ``data`` and put its sha256 in the card."""
    card_path.with_suffix(".safetensors").write_bytes(data)
    card = ModelCard.read(card_path)
    dataclasses.replace(card, sha256=hashlib.sha256(data).hexdigest()).write(card_path)


def test_truncated_weights_are_refused(saved):
    _, card_path = saved
    data = card_path.with_suffix(".safetensors").read_bytes()
    card_path.with_suffix(".safetensors").write_bytes(data[:-100])
    with pytest.raises(ChecksumError):
        load_model(card_path)
    rewrite_weights(card_path, data[:-100])  # consistent checksum, still broken
    with pytest.raises(ModelError, match="not a valid safetensors file \\(truncated or corrupt\\)"):
        load_model(card_path)


def test_pickles_are_refused(saved, tmp_path):
    net, card_path = saved
    pickle_path = tmp_path / "model.pt"
    torch.save(net.state_dict(), pickle_path)
    with pytest.raises(ModelError, match="pickle-based weights \\(.pt\\) are refused"):
        load_model(pickle_path)
    with pytest.raises(ModelError, match="pickle-based weights"):
        load_model(tmp_path / "absent.ckpt")
    rewrite_weights(card_path, pickle_path.read_bytes())  # a pickle named .safetensors
    with pytest.raises(ModelError, match="is a pickle \\(torch.save\\) file.*refused"):
        load_model(card_path)


def test_card_and_weights_mismatch(saved, tmp_path):
    net, card_path = saved
    card = ModelCard.read(card_path)
    wider = dataclasses.replace(card, architecture_args={"depth": 2, "base_width": 8})
    wider.write(card_path)
    with pytest.raises(
        ModelError,
        match=r"mismatch: decoder.blocks.0.0.weight \(file \(8, 16, 3, 3\) torch.float32, "
        r"network \(16, 32, 3, 3\)",
    ):
        load_model(card_path)
    state = {k: v for k, v in net.state_dict().items() if k != "decoder.head.bias"}
    state["extra.weight"] = torch.zeros(3)
    folder = tmp_path / "mismatch"
    folder.mkdir()
    safetensors.torch.save_file(state, folder / "tiny.safetensors")
    card.write(folder / "tiny.json")
    rewrite_weights(folder / "tiny.json", (folder / "tiny.safetensors").read_bytes())
    with pytest.raises(
        ModelError, match="missing keys: decoder.head.bias; unexpected keys: extra.weight"
    ):
        load_model(folder / "tiny.json")


def test_cards_without_checksum_or_weights(saved, tmp_path):
    _, card_path = saved
    dataclasses.replace(ModelCard.read(card_path), sha256=None).write(card_path)
    with pytest.raises(ModelError, match="no sha256 of its weights; unverified weights"):
        load_model(card_path)
    lonely = tmp_path / "lonely.safetensors"
    lonely.write_bytes(card_path.with_suffix(".safetensors").read_bytes())
    with pytest.raises(ModelError, match="no model card next to the weights"):
        load_model(lonely)
    card_path.with_suffix(".safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="tiny.safetensors of model 'tiny@1.0' is missing"):
        load_model(card_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(ModelError, match="not a model card \\(.json\\) or safetensors"):
        load_model(tmp_path)


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and counts the requests for each path."""

    def __init__(self, *args, counts, **kwargs):
        self.counts = counts
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.counts[self.path] = self.counts.get(self.path, 0) + 1
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, request counts) of a local HTTP server."""
    folder = tmp_path / "served"
    folder.mkdir()
    counts = {}
    handler = functools.partial(CountingHandler, directory=str(folder), counts=counts)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, counts
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def publish(saved, server):
    """Put the saved model on the server; return a remote card for it."""
    net, card_path = saved
    base, folder, _ = server
    for suffix in (".json", ".safetensors"):
        source = card_path.with_suffix(suffix)
        (folder / source.name).write_bytes(source.read_bytes())
    card = ModelCard.read(card_path)
    return dataclasses.replace(card, url=f"{base}/tiny.safetensors")


def test_remote_entry_downloads_once_and_works_offline(saved, server, tmp_path, monkeypatch):
    net, _ = saved
    _, _, counts = server
    remote = publish(saved, server)
    register_model(remote)
    assert list(available_models()["source"]) == ["remote"]
    loaded = load_model("tiny", progress=False)
    assert counts == {"/tiny.safetensors": 1}
    assert torch.equal(outputs(loaded.model), outputs(net))
    load_model("tiny", progress=False)
    load_model("tiny", offline=True)
    assert counts == {"/tiny.safetensors": 1}
    cached = tmp_path / "cache" / f"{remote.sha256}.safetensors"
    assert cached.is_file()
    monkeypatch.setenv("DIFFUSERADIO_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("DIFFUSERADIO_OFFLINE", "1")
    with pytest.raises(OfflineError, match="not in the cache.*offline mode is on"):
        load_model("tiny")
    with pytest.raises(OfflineError):
        load_model("tiny", offline=True)
    assert counts == {"/tiny.safetensors": 1}
    monkeypatch.delenv("DIFFUSERADIO_OFFLINE")
    load_model("tiny", progress=False)
    assert counts == {"/tiny.safetensors": 2}


def test_tampered_download_is_refused_and_not_cached(saved, server, tmp_path):
    _, folder, _ = server
    register_model(publish(saved, server))
    served = folder / "tiny.safetensors"
    data = bytearray(served.read_bytes())
    data[100] ^= 0x01
    served.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="tampered with or corrupted; nothing was cached"):
        load_model("tiny", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_failed_download(saved, server):
    base, _, _ = server
    register_model(dataclasses.replace(publish(saved, server), url=f"{base}/missing.safetensors"))
    with pytest.raises(ConnectionError, match="could not download .*missing.safetensors"):
        load_model("tiny", progress=False)


@pytest.mark.parametrize("target", ["tiny.json", "tiny.safetensors"])
def test_load_from_url(saved, server, target):
    net, _ = saved
    base, _, counts = server
    publish(saved, server)
    loaded = load_model(f"{base}/{target}", progress=False)
    assert torch.equal(outputs(loaded.model), outputs(net))
    assert counts == {"/tiny.json": 1, "/tiny.safetensors": 1}
    load_model(f"{base}/{target}", offline=True)
    assert counts == {"/tiny.json": 1, "/tiny.safetensors": 1}
    with pytest.raises(ModelError, match="must end in .json"):
        load_model(f"{base}/tiny.onnx")


def test_load_from_file_url(saved):
    net, card_path = saved
    loaded = load_model(card_path.as_uri(), progress=False)
    assert torch.equal(outputs(loaded.model), outputs(net))


def test_invalid_remote_card_is_not_cached(server, tmp_path):
    base, folder, _ = server
    (folder / "broken.json").write_text(json.dumps({"name": "broken"}))
    with pytest.raises(ModelError, match="missing required keys"):
        load_model(f"{base}/broken.json", progress=False)
    assert list((tmp_path / "cache" / "cards").iterdir()) == []


def test_detector_keeps_model_on_its_device(saved):
    net, card_path = saved
    detector = DiffuseDetector(net, ModelCard.read(card_path), device="cpu", precision="bf16")
    assert detector.device == torch.device("cpu") and detector.precision == torch.bfloat16
    assert detector.model.encoder.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert "precision='bfloat16'" in repr(detector)


def test_nothing_written_by_failed_save(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ModelCard, "to_json", fail)
    with pytest.raises(OSError, match="disk full"):
        save_model(tiny_network(), tiny_card(), tmp_path)
    assert list(tmp_path.iterdir()) == []
