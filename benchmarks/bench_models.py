"""Inference throughput of the networks: fp32 against bf16 + channels_last.

For each architecture (default arguments) this prints, side by side, the
throughput in megapixels per second on batches of square tiles in plain fp32,
in fp32 with the channels-last memory format ("CL") and in bf16 autocast with
channels-last (what ``precision="auto"`` uses on this CPU), the FLOPs per
pixel (counted with ``torch.utils.flop_counter.FlopCounterMode``), the
achieved GFLOP/s, and the peak resident memory of each run. Each
measurement runs in a fresh process so that the peak memory is its own.

The number of threads is PyTorch's default unless ``--threads`` is given
(``OMP_NUM_THREADS`` is respected)::

    python benchmarks/bench_models.py --size 256 --batch 8 --seconds 10
"""

import argparse
import multiprocessing
import resource
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from diffuseradio.models import ARCHITECTURES, inference_context, to_device


def flops_per_pixel(architecture, size):
    """FLOPs of one forward pass per input pixel (batch of one tile)."""
    network = ARCHITECTURES[architecture]().eval()
    counter = FlopCounterMode(display=False)
    # Gradients stay enabled so that the transformer runs its decomposed
    # path, whose matrix products the counter sees.
    with counter:
        network(torch.zeros(1, 1, size, size))
    return counter.get_total_flops() / size**2


def throughput(architecture, precision, channels_last, size, batch, seconds, threads):
    """Mpix/s and peak RSS (MiB) of one configuration, in this process."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    network = ARCHITECTURES[architecture]().eval()
    tiles = torch.randn(batch, 1, size, size)
    if channels_last:
        network, tiles = to_device(network, "cpu"), to_device(tiles, "cpu")
    with inference_context("cpu", precision):
        for _ in range(2):
            network(tiles)
        runs = 0
        start = time.perf_counter()
        while runs < 3 or time.perf_counter() - start < seconds:
            network(tiles)
            runs += 1
        elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return runs * batch * size**2 / elapsed / 1e6, peak_mib


def measure_in_child(*args):
    """Run :func:`throughput` in a fresh process (its own peak memory)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(throughput, args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="tile side in pixels")
    parser.add_argument("--batch", type=int, default=8, help="tiles per batch")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)

    threads = args.threads or torch.get_num_threads()
    print(
        f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
        f"{threads} thread(s), {args.batch} tiles of {args.size}x{args.size} per batch"
    )
    header = (
        f"{'architecture':<12} {'params':>7} {'kFLOP/pix':>9} {'fp32 Mpix/s':>11} "
        f"{'fp32+CL':>8} {'bf16+CL':>8} {'speed-up':>8} {'GFLOP/s fp32':>12} "
        f"{'bf16+CL':>8} {'MiB fp32':>8} {'bf16+CL':>8}"
    )
    print(header)
    print("-" * len(header))
    configurations = [("fp32", False), ("fp32", True), ("bf16", True)]
    for architecture, cls in ARCHITECTURES.items():
        params = sum(p.numel() for p in cls().parameters())
        flops = flops_per_pixel(architecture, args.size)
        (fp32, fp32_mib), (fp32_cl, _), (bf16, bf16_mib) = [
            measure_in_child(
                architecture,
                precision,
                channels_last,
                args.size,
                args.batch,
                args.seconds,
                args.threads,
            )
            for precision, channels_last in configurations
        ]
        print(
            f"{architecture:<12} {params / 1e6:>6.2f}M {flops / 1e3:>9.1f} {fp32:>11.3f} "
            f"{fp32_cl:>8.3f} {bf16:>8.3f} {bf16 / fp32:>7.2f}x {fp32 * flops / 1e3:>12.1f} "
            f"{bf16 * flops / 1e3:>8.1f} {fp32_mib:>8.0f} {bf16_mib:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
