"""Benchmark: compact-source subtraction of a 6" image from a 20" one.

Makes a LoTSS-like pair (6" beam on 1.5" pixels, 20" beam on 6" pixels, white
noise plus point sources from a steep count), then times
:func:`diffuseradio.preprocess.compact.subtract_compact` in a fresh process and reports
throughput (megapixels of the native image per second), the peak resident
memory of that process next to the size of one float32 copy of the native
image, and how well the point sources went (median |residual| / peak at their
20" peaks).

Usage::

    python benchmarks/bench_subtraction.py [--size 4096] [--sources 2000]
"""

import argparse
import multiprocessing
import resource
import time

import numpy as np


def make_pair(size, sources, seed=0):
    """Native (``size``^2, 6" on 1.5") and tapered (``size / 4``^2, 20" on 6") images."""
    import astropy.units as u
    from astropy.wcs import WCS
    from radio_beam import Beam

    from diffuseradio import SurveyMosaic

    rng = np.random.default_rng(seed)
    flux = 1e-3 * (1 - rng.random(sources)) ** (-1 / 0.8)  # N(>S) ~ S^-0.8, from 1 mJy
    position = rng.uniform(0.05, 0.95, (2, sources)) * size * 1.5  # arcsec from the corner
    images = []
    for beam, pixel, noise in ((6.0, 1.5, 1e-4), (20.0, 6.0, 1.5e-4)):
        n = int(size * 1.5 / pixel)
        centres = (np.arange(n) + 0.5) * pixel
        data = rng.normal(0, noise, (n, n)).astype(np.float32)
        sigma = beam / np.sqrt(8 * np.log(2))
        reach = int(4 * sigma / pixel) + 1
        for (x, y), s in zip(position.T, flux):
            i, j = int(y / pixel), int(x / pixel)
            rows, cols = slice(max(i - reach, 0), i + reach), slice(max(j - reach, 0), j + reach)
            dy = centres[rows][:, None] - y
            dx = centres[cols][None, :] - x
            data[rows, cols] += s * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        wcs.wcs.cdelt = [-pixel / 3600, pixel / 3600]
        wcs.wcs.crval = [205.0, 55.0]
        wcs.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
        images.append(SurveyMosaic(data, wcs, beam=Beam(beam * u.arcsec)))
    peaks = np.c_[position[1] / 6.0 - 0.5, position[0] / 6.0 - 0.5], flux
    return images, peaks


def _run(size, sources, queue):
    from diffuseradio.preprocess.compact import subtract_compact

    (native, tapered), (at, flux) = make_pair(size, sources)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    subtracted = subtract_compact(tapered, native)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    bright = flux > 100 * 1.5e-4
    rows, cols = np.rint(at[bright]).astype(int).T
    residual = np.median(np.abs(subtracted.data[rows, cols]) / tapered.data[rows, cols])
    queue.put((elapsed, before, peak, residual, int(bright.sum())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="native image side, pixels")
    parser.add_argument("--sources", type=int, default=2000)
    args = parser.parse_args()
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_run, args=(args.size, args.sources, queue)
    )
    process.start()
    elapsed, before, peak, residual, bright = queue.get()
    process.join()
    megapixels = args.size**2 / 1e6
    copy = args.size**2 * 4 / 2**20
    print(
        f"subtract_compact: native {args.size}^2 ({megapixels:.1f} Mpx), {elapsed:.2f} s, "
        f"{megapixels / elapsed:.1f} Mpx/s; peak RSS {peak:.0f} MiB "
        f"({before:.0f} MiB before; one float32 native copy {copy:.0f} MiB); "
        f"median |residual| / peak over {bright} sources of S/N > 100: {residual:.4f}"
    )


if __name__ == "__main__":
    main()
