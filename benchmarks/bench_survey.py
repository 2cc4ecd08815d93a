"""Benchmark: survey throughput against the number of Dask workers.

Writes N simulated LoTSS-like mosaics (:class:`~diffuseradio.simulate.SkySimulator`;
6" beam and 1.5" pixels by default, 80 uJy/beam), then runs
:func:`~diffuseradio.survey.run_survey` on a local cluster of 1, then 2 (...)
workers with one PyTorch thread each, every run into a fresh output folder,
and prints one row per cluster size: the wall time (starting the cluster and
loading the model on each worker included), mosaics per second, megapixels
per second, the median time of one mosaic on a worker, and the speed-up over
the first row.

Usage::

    python benchmarks/bench_survey.py [--mosaics 4] [--size 2048] [--workers 1 2]
        [--beam 6] [--pixel-scale 1.5] [--model NAME_OR_CARD] [--device auto]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def make_mosaics(folder, n, size, beam, pixel_scale, seed=0):
    """Write ``n`` simulated mosaics of ``size`` x ``size`` pixels; return their paths."""
    import astropy.units as u

    from diffuseradio.simulate import SkySimulator

    simulator = SkySimulator(
        size, pixel_scale * u.arcsec, beam * u.arcsec, 80 * u.uJy / u.beam, seed=seed
    )
    paths = []
    for index in range(n):
        paths.append(Path(folder) / f"mosaic{index:03d}.fits")
        simulator.field(index).mosaic.write(paths[-1])
    return paths


def run(paths, outdir, workers, model, device):
    """Wall time and the survey summary of one run on a fresh local cluster."""
    from diffuseradio.survey import run_survey

    start = time.perf_counter()
    result = run_survey(
        paths,
        outdir,
        model=model,
        n_workers=workers,
        threads_per_worker=1,
        device=device,
        progress=False,
    )
    wall = time.perf_counter() - start
    if result.failed:
        raise RuntimeError(f"mosaics failed: {', '.join(result.failed)}")
    return wall, result.summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mosaics", type=int, default=4)
    parser.add_argument("--size", type=int, default=2048, help="mosaic side, pixels")
    parser.add_argument("--beam", type=float, default=6.0, help="arcsec")
    parser.add_argument("--pixel-scale", type=float, default=1.5, help="arcsec")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default=None, help="default: the default model")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_survey.") as folder:
        folder = Path(folder)
        paths = make_mosaics(folder, args.mosaics, args.size, args.beam, args.pixel_scale)
        mpix = args.mosaics * args.size**2 / 1e6
        print(
            f"{args.mosaics} mosaics of {args.size}x{args.size} pixels "
            f'({args.beam:g}" beam, {args.pixel_scale:g}" pixels), {mpix:.1f} Mpix in all'
        )
        header = (
            f"{'workers':>7} {'mosaics':>7} {'wall s':>8} {'mosaics/s':>9} {'Mpix/s':>7} "
            f"{'s/mosaic':>8} {'speed-up':>8}"
        )
        print(header)
        print("-" * len(header))
        first = None
        for workers in args.workers:
            wall, summary = run(paths, folder / f"out{workers}", workers, args.model, args.device)
            first = first or wall
            per_mosaic = np.median(summary["time"].value)
            print(
                f"{workers:>7} {args.mosaics:>7} {wall:>8.1f} {args.mosaics / wall:>9.3f} "
                f"{mpix / wall:>7.2f} {per_mosaic:>8.1f} {first / wall:>8.2f}"
            )


if __name__ == "__main__":
    main()
