"""Benchmark: simulated fields per second on one core, with peak memory.

Each field size runs in a fresh process (so the peak resident memory is its
own) with ``OMP_NUM_THREADS=1``: LoTSS-like 6" fields at 1.5" pixels with the
default population (noise, ~1.1e4 compact sources per deg^2, halos, relics,
bridges, radio galaxies, artefacts), as training generates them on the fly.
One warm-up field is not timed.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_simulate.py [--sizes 256 512 1024 2048] [--fields 10]
"""

import argparse
import multiprocessing
import os
import resource
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def run(size, fields, queue):
    """Time ``fields`` fields of ``size`` pixels; put (s/field, objects, MiB)."""
    import astropy.units as u

    from diffuseradio.simulate import SkySimulator

    simulator = SkySimulator(size, 1.5 * u.arcsec, 6 * u.arcsec, 80 * u.uJy / u.beam, seed=0)
    simulator.field(0)
    start = time.perf_counter()
    objects = sum(len(simulator.field(index).objects) for index in range(1, fields + 1))
    elapsed = (time.perf_counter() - start) / fields
    queue.put(
        (elapsed, objects / fields, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--fields", type=int, default=10)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    print('LoTSS-like fields (6" beam, 1.5" pixels, 80 uJy/beam), one core')
    print(f"{'size':>6} {'s/field':>9} {'fields/s':>9} {'objects':>8} {'peak RSS [MiB]':>15}")
    for size in args.sizes:
        queue = context.Queue()
        process = context.Process(target=run, args=(size, args.fields, queue))
        process.start()
        elapsed, objects, rss = queue.get()
        process.join()
        print(f"{size:>6} {elapsed:9.3f} {1 / elapsed:9.2f} {objects:8.1f} {rss:15.0f}")


if __name__ == "__main__":
    main()
