"""Choice of the device and numerical precision a network runs with.

``device="auto"`` picks CUDA, then Apple MPS, then the CPU. ``precision="auto"``
picks bfloat16 autocast where the hardware computes it natively (CUDA GPUs
with bf16 support; CPUs with the AMX or AVX-512 BF16 instructions) and float32
elsewhere. Networks run in the ``channels_last`` memory format, which the
convolution kernels of oneDNN and cuDNN prefer.

The number of CPU threads is left to PyTorch: set it with
``torch.set_num_threads`` or the ``OMP_NUM_THREADS`` environment variable.
"""

import contextlib
from pathlib import Path

import torch

__all__ = [
    "PRECISIONS",
    "cpu_supports_bf16",
    "inference_context",
    "select_device",
    "select_precision",
    "to_device",
]

#: Precision names accepted by :func:`select_precision` -> torch dtype.
PRECISIONS = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
}

_CPUINFO = Path("/proc/cpuinfo")
_CPU_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}


def cpu_supports_bf16():
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16).

    Reads the instruction-set flags of ``/proc/cpuinfo`` (Linux) and requires
    PyTorch to dispatch its kernels at the AVX-512 level. Elsewhere (macOS,
    Windows) the answer is False, so ``precision="auto"`` stays in float32.

    Returns
    -------
    bool
    """
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        return False
    try:
        text = _CPUINFO.read_text()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & _CPU_BF16_FLAGS)


def _mps_available():
    return torch.backends.mps.is_available()


def select_device(device="auto"):
    """Resolve a device request to an available `torch.device`.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"auto"`` (CUDA if available, then Apple MPS, then CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a `torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For a malformed device string or a device that is not available here
        (the message says which devices are).

    Examples
    --------
    >>> from diffuseradio.models.device import select_device
    >>> select_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, str) and device.strip().lower() == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"invalid device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from err
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        return _check_cuda(resolved)
    if resolved.type == "mps":
        if not _mps_available():
            raise ValueError(f"device 'mps' is not available here; {_available_text()}")
        return resolved
    raise ValueError(f"unsupported device type {resolved.type!r}; {_available_text()}")


def _check_cuda(device):
    if not torch.cuda.is_available():
        raise ValueError(
            f"device '{device}' requested but CUDA is not available here; {_available_text()}"
        )
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if device.index is None else device.index
    if index >= count:
        raise ValueError(
            f"device '{device}' requested but only {count} CUDA device(s) exist; "
            f"{_available_text()}"
        )
    return torch.device("cuda", index)


def _available_text():
    names = ["cpu"]
    names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return "available devices: " + ", ".join(names)


def select_precision(precision="auto", device="cpu"):
    """Resolve a precision request for a device to a torch dtype.

    Parameters
    ----------
    precision : str or torch.dtype, optional
        ``"auto"``, ``"fp32"`` (``"float32"``), ``"bf16"`` (``"bfloat16"``),
        or ``torch.float32`` / ``torch.bfloat16``. ``"auto"`` gives bfloat16
        on CUDA devices that support it and on CPUs with native bf16
        instructions (``cpu_supports_bf16``), and float32 elsewhere
        (including MPS).
    device : str or torch.device, optional
        The device the network runs on (already resolved, or any value
        :func:`select_device` accepts).

    Returns
    -------
    torch.dtype
        ``torch.float32`` or ``torch.bfloat16``: the autocast dtype.

    Raises
    ------
    ValueError
        For an unknown precision, or bf16 requested on a CUDA device without
        bf16 support.

    Examples
    --------
    >>> import torch
    >>> from diffuseradio.models.device import select_precision
    >>> select_precision("fp32", "cpu")
    torch.float32
    """
    device = select_device(device)
    if isinstance(precision, str) and precision.strip().lower() == "auto":
        return torch.bfloat16 if _native_bf16(device) else torch.float32
    dtype = _precision_dtype(precision)
    if dtype == torch.bfloat16 and device.type == "cuda":
        with torch.cuda.device(device):
            if not torch.cuda.is_bf16_supported():
                raise ValueError(f"device '{device}' does not support bfloat16; use 'fp32'")
    return dtype


def _precision_dtype(precision):
    if isinstance(precision, torch.dtype):
        if precision in PRECISIONS.values():
            return precision
    elif isinstance(precision, str) and precision.strip().lower() in PRECISIONS:
        return PRECISIONS[precision.strip().lower()]
    known = ", ".join(["auto", *PRECISIONS])
    raise ValueError(f"unknown precision {precision!r}; use one of: {known}")


def _native_bf16(device):
    if device.type == "cuda":
        with torch.cuda.device(device):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_supports_bf16()
    return False


def to_device(obj, device):
    """Move a network or a batch to a device in the ``channels_last`` format.

    Parameters
    ----------
    obj : torch.nn.Module or torch.Tensor
        A network (moved in place and returned) or an (N, C, H, W) tensor.
    device : torch.device or str
        Target device.

    Returns
    -------
    torch.nn.Module or torch.Tensor
        ``obj`` on ``device``; 4-D tensors and 4-D weights in
        ``torch.channels_last`` memory format.
    """
    if isinstance(obj, torch.Tensor) and obj.dim() != 4:
        return obj.to(device)
    return obj.to(device, memory_format=torch.channels_last)


@contextlib.contextmanager
def inference_context(device, precision):
    """Context for running a network: no autograd, autocast to ``precision``.

    Parameters
    ----------
    device : torch.device or str
        The device the network runs on.
    precision : torch.dtype or str
        ``torch.float32`` (no autocast) or ``torch.bfloat16`` (autocast), or
        one of the names in ``PRECISIONS``.

    Yields
    ------
    None

    Examples
    --------
    >>> import torch
    >>> from diffuseradio.models.device import inference_context
    >>> with inference_context("cpu", "bf16"):
    ...     y = torch.nn.Linear(4, 2)(torch.ones(1, 4))
    >>> y.dtype, y.requires_grad
    (torch.bfloat16, False)
    """
    device = torch.device(device)
    dtype = _precision_dtype(precision)
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32),
    ):
        yield
