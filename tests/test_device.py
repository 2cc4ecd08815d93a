"""Tests of device and precision selection, and of bf16 against fp32."""

import numpy as np
import pytest
import torch

from diffuseradio.models import (
    TransUNet,
    UNet,
    inference_context,
    select_device,
    select_precision,
    to_device,
)
from diffuseradio.models import device as device_module
from diffuseradio.preprocess.normalization import normalize

#: Documented agreement of bf16-autocast and fp32 probabilities (docs/models.rst).
BF16_MAX_ABS_DIFF = 0.02
BF16_MEAN_ABS_DIFF = 0.003

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_and_auto_without_accelerator(no_accelerator):
    assert select_device("cpu") == torch.device("cpu")
    assert select_device(torch.device("cpu")) == torch.device("cpu")
    assert select_device("auto") == torch.device("cpu")
    assert select_device(" AUTO ") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert select_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert select_device("auto") == torch.device("cuda", 0)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            "cuda:7",
            "device 'cuda:7' requested but CUDA is not available here; available devices: cpu$",
        ),
        ("cuda", "CUDA is not available"),
        ("mps", "device 'mps' is not available here; available devices: cpu"),
        ("gpu", "invalid device 'gpu'"),
        ("meta", "unsupported device type 'meta'"),
    ],
)
def test_unavailable_devices_are_refused(no_accelerator, request_, message):
    with pytest.raises(ValueError, match=message):
        select_device(request_)


def test_cuda_index_beyond_device_count(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="only 2 CUDA device.*cpu, cuda:0, cuda:1"):
        select_device("cuda:7")
    assert select_device("cuda:1") == torch.device("cuda", 1)


def fake_cpuinfo(tmp_path, monkeypatch, flags, capability="AVX512"):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse avx2 {flags}\n\n")
    monkeypatch.setattr(device_module, "_CPUINFO", path)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)


@pytest.mark.parametrize(
    ("flags", "capability", "expected"),
    [
        ("avx512f avx512_bf16", "AVX512", torch.bfloat16),
        ("avx512f amx_bf16 amx_tile", "AVX512", torch.bfloat16),
        ("avx512f", "AVX512", torch.float32),
        ("avx512f avx512_bf16", "AVX2", torch.float32),
    ],
)
def test_auto_precision_on_cpu(tmp_path, monkeypatch, flags, capability, expected):
    fake_cpuinfo(tmp_path, monkeypatch, flags, capability)
    assert select_precision("auto", "cpu") == expected


def test_auto_precision_without_cpuinfo(tmp_path, monkeypatch):
    monkeypatch.setattr(device_module, "_CPUINFO", tmp_path / "absent")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert not device_module.cpu_supports_bf16()
    assert select_precision("auto", "cpu") == torch.float32


def test_explicit_precisions():
    assert select_precision("fp32", "cpu") == torch.float32
    assert select_precision("bfloat16", "cpu") == torch.bfloat16
    assert select_precision(torch.bfloat16, "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision 'fp16'; use one of: auto, fp32"):
        select_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="unknown precision torch.float16"):
        select_precision(torch.float16, "cpu")


def test_inference_context():
    layer = torch.nn.Conv2d(1, 2, 3)
    x = torch.ones(1, 1, 5, 5)
    with inference_context("cpu", torch.float32):
        assert layer(x).dtype == torch.float32
        assert torch.is_inference_mode_enabled()
    with inference_context(torch.device("cpu"), "bf16"):
        assert layer(x).dtype == torch.bfloat16
    assert not torch.is_inference_mode_enabled()


def test_to_device_uses_channels_last():
    net = to_device(UNet(depth=1, base_width=4), "cpu")
    assert net.encoder.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    batch = to_device(torch.zeros(2, 3, 8, 8), "cpu")
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert to_device(torch.zeros(3), "cpu").shape == (3,)


def test_thread_settings_are_left_alone():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        select_precision("auto", select_device("auto"))
        with inference_context("cpu", "bf16"):
            UNet(depth=1, base_width=4).eval()(torch.zeros(1, 1, 8, 8))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def radio_tiles(count, size, seed):
    """Normalised noise-like tiles with extended blobs and bright point sources."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    rms = 1e-4
    tiles = []
    for _ in range(count):
        image = rng.normal(0.0, rms, (size, size))
        for _ in range(3):
            x0, y0 = rng.uniform(0, size, 2)
            sigma = rng.uniform(3, size / 4)
            image += (
                rng.uniform(1, 5) * rms * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / sigma**2 / 2)
            )
        for _ in range(5):
            image[tuple(rng.integers(0, size, 2))] += rng.uniform(10, 1000) * rms
        tiles.append(normalize(image, rms))
    return torch.from_numpy(np.stack(tiles)[:, None])


def calibrated(net, batch):
    """Set batch-norm statistics from ``batch`` so activations have unit scale.

    A freshly initialised network with identity statistics gives logits
    close to 0; calibrated, its probabilities span (0, 1) like a trained
    network's, which is what the precision comparison needs.
    """
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    net.train()
    with torch.no_grad():
        net(batch)
    return net.eval()


@pytest.mark.parametrize("cls", [UNet, TransUNet])
def test_bf16_agrees_with_fp32(cls):
    torch.manual_seed(0)
    batch = radio_tiles(2, 64, seed=3)
    net = to_device(calibrated(cls(), batch), "cpu")
    batch = to_device(batch, "cpu")
    probabilities = {}
    for precision in ("fp32", "bf16"):
        with inference_context("cpu", precision):
            probabilities[precision] = torch.sigmoid(net(batch).float())
    reference = probabilities["fp32"]
    assert reference.min() < 0.2 and reference.max() > 0.8  # a meaningful spread
    difference = (probabilities["bf16"] - reference).abs()
    assert difference.max() < BF16_MAX_ABS_DIFF
    assert difference.mean() < BF16_MEAN_ABS_DIFF
    assert difference.max() > 0  # bf16 really was used


@cuda
def test_cuda_device_and_bf16():
    device = select_device("cuda")
    assert device.type == "cuda"
    torch.manual_seed(0)
    batch = radio_tiles(2, 64, seed=3)
    net = to_device(calibrated(UNet(), batch), device)
    batch = to_device(batch, device)
    outputs = {}
    for precision in ("fp32", "bf16"):
        with inference_context(device, precision):
            outputs[precision] = torch.sigmoid(net(batch).float())
    difference = (outputs["bf16"] - outputs["fp32"]).abs()
    assert difference.max() < BF16_MAX_ABS_DIFF
