"""Benchmark: diffuseradio against PyBDSF and photutils on simulated LoTSS fields.

The same simulated 6"/1.5" LoTSS-like fields (``diffuseradio.simulate``, with
their truth) go through

- diffuseradio: ``DiffuseDetector.from_pretrained().detect`` (bundled model);
- PyBDSF (``bdsf.process_image``) with the LoTSS-DR2 settings (Shimwell et
  al. 2022: thresh_isl 4, thresh_pix 5, rms_box (150, 15), adaptive rms box,
  wavelet (a trous) decomposition up to scale 4); its island mask is its
  segmentation;
- photutils: the image convolved to 20" (as astronomers taper to see
  diffuse emission), ``Background2D`` noise, ``detect_sources`` at 3 sigma
  with a minimum area of 4 beams.

Each tool runs in a fresh process; the table gives wall time, peak resident
memory, and object-level completeness (detectable diffuse sources with
integrated S/N >= 8 found) and purity (detections that are diffuse emission),
on a field with more clusters than the real sky has (``POPULATION``) so that
there is something to count,
counted by :func:`diffuseradio.training.object_counts` against the truth.

Usage::

    python benchmarks/bench_peers.py [--sizes 2048 4096] [--threads 2]
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np

#: A population denser in diffuse sources than the sky (which has about 3
#: halos per square degree), so that one field holds enough of them to count.
POPULATION = {
    "halo_density": 40 / u.deg**2,
    "relic_density": 20 / u.deg**2,
    "radio_galaxy_density": 60 / u.deg**2,
}


def simulate(size, seed):
    from diffuseradio.simulate import SkySimulator

    simulator = SkySimulator(
        size,
        1.5 * u.arcsec,
        6 * u.arcsec,
        80 * u.uJy / u.beam,
        seed=seed,
        halo_density=POPULATION["halo_density"],
        relic_density=POPULATION["relic_density"],
        radio_galaxy_density=POPULATION["radio_galaxy_density"],
    )
    return simulator.field(0)


def run_diffuseradio(path, workdir):
    from diffuseradio import DiffuseDetector, SurveyMosaic

    detector = DiffuseDetector.from_pretrained(device="cpu")
    return detector.detect(SurveyMosaic.read(path)).segmentation


def run_pybdsf(path, workdir):
    import bdsf
    from astropy.io import fits

    image = bdsf.process_image(
        str(path),
        thresh_isl=4.0,
        thresh_pix=5.0,
        rms_box=(150, 15),
        rms_map=True,
        mean_map="zero",
        adaptive_rms_box=True,
        adaptive_thresh=150.0,
        rms_box_bright=(60, 15),
        atrous_do=True,
        atrous_jmax=4,
        group_by_isl=False,
        frequency=144e6,
        quiet=True,
        ncores=1,
    )
    mask = Path(workdir) / "islands.fits"
    image.export_image(outfile=str(mask), img_type="island_mask", clobber=True)
    from scipy import ndimage

    with fits.open(mask) as hdul:
        islands = np.asarray(hdul[0].data).squeeze() > 0
    return ndimage.label(islands)[0]


def run_photutils(path, workdir):
    import astropy.units as u
    from photutils.segmentation import detect_sources

    from diffuseradio import SurveyMosaic

    mosaic = SurveyMosaic.read(path)
    tapered = mosaic.convolve_to(20 * u.arcsec)
    rms = tapered.rms_map().to_value(u.Jy / u.beam)
    beam_pixels = float((20 * u.arcsec) ** 2 * 1.1331 / mosaic.pixel_scale**2)
    data = np.nan_to_num(tapered.data)
    segments = detect_sources(
        data, 3.0 * np.nan_to_num(rms, nan=np.inf), npixels=int(4 * beam_pixels)
    )
    return np.zeros(mosaic.shape, np.int32) if segments is None else segments.data


TOOLS = {"diffuseradio": run_diffuseradio, "PyBDSF": run_pybdsf, "photutils": run_photutils}


def _run(tool, path, workdir, threads, queue):
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    labels = TOOLS[tool](path, workdir)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    np.save(Path(workdir) / f"{tool}.npy", labels.astype(np.int32))
    queue.put((elapsed, peak))


def measure(tool, path, workdir, threads):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(tool, path, workdir, threads, queue))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"{tool} failed (exit code {process.exitcode})")
    return queue.get()


def main():
    from diffuseradio.simulate import write_field
    from diffuseradio.training import object_counts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    args = parser.parse_args()
    print(
        f"{'image':>11} {'tool':>13} {'time [s]':>9} {'Mpix/s':>7} {'peak RSS [MiB]':>15} "
        f"{'complete(S/N>=8)':>17} {'purity':>7} {'detections':>10}"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as workdir:
            field = simulate(size, args.seed)
            stem = Path(workdir) / "field"
            write_field(field, stem)
            path = Path(f"{stem}.image.fits")
            for tool in args.tools:
                seconds, peak = measure(tool, path, workdir, args.threads)
                labels = np.load(Path(workdir) / f"{tool}.npy")
                counts = object_counts(labels, field)
                print(
                    f"{size:>5}x{size:<5} {tool:>13} {seconds:>9.1f} "
                    f"{size**2 / 1e6 / seconds:>7.2f} {peak:>15.0f} "
                    f"{counts.completeness(8.0):>17.2f} {counts.purity:>7.2f} "
                    f"{counts.detections:>10}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
