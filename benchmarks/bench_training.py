"""Training throughput: simulated tiles per second through ``Trainer.train_epoch``.

Runs a short epoch of a training configuration (default: the one of the
shipped U-Net) in a fresh process per variant and prints, side by side, the
throughput in tiles and megapixels per second and the peak resident memory,
for batches cut from one simulated field (``fields_per_batch = 1``, the
1.1.0 recipe) or mixing several (``fields_per_batch = batch_size``), with and
without the moving average of the weights (``ema_decay``). The data cost is
the same by construction (one simulated field per ``tiles_per_field``
tiles); this measures that it is, and what the average costs::

    python benchmarks/bench_training.py --steps 24 --threads 2
"""

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from diffuseradio.training import Trainer, TrainingConfig

ROOT = Path(__file__).resolve().parents[1]


def train_rate(config_path, steps, fields_per_batch, ema_decay, threads):
    """Tiles per second and peak RSS (MiB) of one short epoch, in this process."""
    config = TrainingConfig.read(config_path)
    config.training.initial_weights = ""
    config.training.threads = threads
    config.training.num_workers = 0
    config.training.steps_per_epoch = steps
    config.training.ema_decay = ema_decay
    config.data.fields_per_batch = fields_per_batch
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(config, output_dir=run)
        start = time.perf_counter()
        trainer.train_epoch()
        elapsed = time.perf_counter() - start
    tiles = steps * config.training.batch_size
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return tiles / elapsed, tiles * config.grid.tile_size**2 / elapsed / 1e6, peak_mib


def measure_in_child(*args):
    """Run :func:`train_rate` in a fresh process (its own peak memory)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(train_rate, args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=ROOT / "configs" / "lotss-diffuse-unet-1.2.toml"
    )
    parser.add_argument("--steps", type=int, default=24, help="optimisation steps per variant")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    batch = TrainingConfig.read(args.config).training.batch_size
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.config.name}, "
        f"{args.steps} steps of {batch} tiles per variant"
    )
    header = f"{'fields per batch':>16} {'EMA':>6} {'tiles/s':>8} {'Mpix/s':>7} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    for fields_per_batch, ema_decay in [(1, 0.0), (batch, 0.0), (batch, 0.999)]:
        tiles, mpix, mib = measure_in_child(
            args.config, args.steps, fields_per_batch, ema_decay, args.threads
        )
        ema = f"{ema_decay:g}" if ema_decay else "off"
        print(f"{fields_per_batch:>16} {ema:>6} {tiles:>8.2f} {mpix:>7.3f} {mib:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
