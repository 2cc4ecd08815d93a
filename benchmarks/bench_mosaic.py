"""Benchmark: read + rms + rms_map + full tiling of a LoTSS-DR2-size mosaic.

Builds a float64, NaN-blanked (outside a circle) FITS image like a LoTSS-DR2
mosaic, then times each step in a fresh process and reports throughput
(megapixels per second) and the peak resident memory of that process, next to
the size of one in-memory copy of the data.

Usage::

    python benchmarks/bench_mosaic.py [--size 10000] [--tile 512] [--overlap 64]
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def make_mosaic(path, size, seed=0):
    """Write a LoTSS-DR2-like float64 mosaic with NaN outside a circle."""
    import astropy.units as u
    from astropy.io import fits
    from astropy.wcs import WCS
    from radio_beam import Beam

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    wcs.wcs.crval = [205.0, 55.0]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    header = wcs.to_header()
    header.update(Beam(6 * u.arcsec).to_header_keywords())
    header["BUNIT"] = "JY/BEAM"
    # Write row blocks straight into the file so making the mosaic is cheap too.
    stream = fits.StreamingHDU(path, _image_header(header, (size, size)))
    rng = np.random.default_rng(seed)
    radius2 = (0.48 * size) ** 2
    for start in range(0, size, 500):
        rows = np.arange(start, min(start + 500, size))[:, None]
        block = rng.normal(0, 80e-6, size=(rows.size, size))
        cols = np.arange(size)[None, :]
        block[(rows - size / 2) ** 2 + (cols - size / 2) ** 2 > radius2] = np.nan
        stream.write(block)
    stream.close()


def _image_header(header, shape):
    from astropy.io import fits

    out = fits.Header()
    out["SIMPLE"], out["BITPIX"], out["NAXIS"] = True, -64, 2
    out["NAXIS1"], out["NAXIS2"] = shape[1], shape[0]
    for card in header.cards:
        if card.keyword not in out and card.keyword not in ("SIMPLE", "EXTEND"):
            out.append(card)
    return out


def _run(step, path, tile, overlap, queue):
    from diffuseradio import SurveyMosaic

    start = time.perf_counter()
    mosaic = SurveyMosaic.read(path)
    if step == "rms":
        mosaic.rms  # noqa: B018
    elif step == "rms_map":
        mosaic.rms_map()
    elif step == "tiles":
        count = 0
        for each in mosaic.tiles(tile, overlap):
            np.asarray(each.data, dtype=np.float32)  # touch the pixels
            count += 1
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    queue.put((elapsed, peak))


def measure(step, path, tile, overlap):
    """Time one step in a fresh process; return (seconds, peak RSS MiB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(step, path, tile, overlap, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mosaic.fits"
        make_mosaic(path, args.size)
        megapixels = args.size**2 / 1e6
        copy_mib = args.size**2 * 8 / 2**20
        print(f"mosaic {args.size}x{args.size} float64 ({copy_mib:.0f} MiB per copy)")
        print(f"{'step':<22}{'time [s]':>10}{'Mpix/s':>10}{'peak RSS [MiB]':>16}")
        for step, label in [
            ("read", "read (memory-mapped)"),
            ("rms", "read + rms"),
            ("rms_map", "read + rms_map"),
            ("tiles", f"read + tiles {args.tile}/{args.overlap}"),
        ]:
            seconds, peak = measure(step, path, args.tile, args.overlap)
            print(f"{label:<22}{seconds:>10.2f}{megapixels / seconds:>10.1f}{peak:>16.0f}")


if __name__ == "__main__":
    main()
