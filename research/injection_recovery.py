"""Completeness in real survey noise: inject mock radio halos into a real image and find them.

Each mock halo (:class:`~diffuseradio.simulate.RadioHalo`, exponential, with
turbulent structure) is injected into the real image
(:func:`~diffuseradio.simulate.inject`) and, for comparison, into a
simulated *twin* of it: Gaussian noise correlated by the same beam, with
the same robust rms, WCS and blanking, and no sources. Every model is run
on every injected image (``DiffuseDetector.predict``, the full inference
path; a model with a native channel gets the image alone, as a user with
only that image would run it), its probabilities are averaged onto the
model's working grid and segmented at the card's operating point.

A halo is **found** when at least 20 % of its region is detected, not
counting what the model already detects in the image without it (real
sources it takes for diffuse emission). Its region and integrated S/N are
measured as in the simulated test fields: the injected model brought to the
working grid, the pixels where it reaches the working-grid noise (robust
rms of the image brought there), S/N = flux density in the region /
(rms x sqrt(region area in beams)). The completeness per S/N bin in real and
in simulated noise says what real noise, real sources and real artefacts
cost. The ``field`` column counts the detections in each image without any
injection: false detections, in a field without known diffuse emission.

Usage::

    python research/injection_recovery.py IMAGE.fits [--models A B ...] [--out TABLE.ecsv]
"""

import argparse
import itertools
import math
import warnings

import astropy.units as u
import numpy as np
import torch
from astropy.table import Table
from scipy import ndimage

from diffuseradio import DiffuseDetector, SurveyMosaic
from diffuseradio.exceptions import DiffuseRadioError
from diffuseradio.mosaic.regrid import pixel_average
from diffuseradio.postprocess import segment
from diffuseradio.preprocess import working_mosaic
from diffuseradio.simulate import RadioHalo, inject
from diffuseradio.simulate.beam import PixelBeam
from diffuseradio.simulate.noise import correlated_noise
from diffuseradio.training import SNR_BINS

#: A halo is found when this fraction of its region is detected.
COVERAGE = 0.2


def simulated_twin(mosaic, seed):
    """Beam-correlated Gaussian noise with ``mosaic``'s robust rms, grid, beam and blanking."""
    rng = np.random.default_rng(seed)
    noise = correlated_noise(mosaic.shape, PixelBeam(mosaic.beam, mosaic.pixel_scale), rng)
    data = noise * np.float32(mosaic.rms.to_value(u.Jy / u.beam))
    data[np.isnan(mosaic.data)] = np.nan
    return SurveyMosaic(data, mosaic.wcs, beam=mosaic.beam)


def detections(detector, mosaic, matched, augment):
    """Probability on the working grid and the detections at the card's operating point."""
    card = detector.card
    probability = detector.predict(mosaic, augment=augment)
    on_input = SurveyMosaic(probability, mosaic.wcs, beam=mosaic.beam)
    probability = pixel_average(on_input, matched).data
    labels = segment(
        np.nan_to_num(probability),
        card.threshold,
        min_area=card.min_area_beams * matched.beam_area_pixels,
        low_threshold=card.low_threshold,
    )
    return probability, labels > 0


def halo_region(working_model, rms):
    """Region (model >= rms), integrated S/N and beams of an injected model on the working grid."""
    data = np.nan_to_num(working_model.data)
    region = data >= rms
    n_beams = region.sum() / working_model.beam_area_pixels
    if not n_beams:
        return region, 0.0, 0.0
    flux = data[region].sum() / working_model.beam_area_pixels
    return region, float(flux / (rms * math.sqrt(n_beams))), float(n_beams)


def injections(mosaic, radii, fluxes, grid, seed):
    """``(radius, flux, x, y, halo)`` on a ``grid`` x ``grid`` of positions, one halo seed each."""
    ny, nx = mosaic.shape
    xs = (np.arange(grid) + 0.5) * nx / grid
    ys = (np.arange(grid) + 0.5) * ny / grid
    for index, (radius, flux, (y, x)) in enumerate(
        itertools.product(radii, fluxes, itertools.product(ys, xs))
    ):
        halo = RadioHalo(
            flux * u.mJy, e_folding_radius=radius * u.arcsec, seed=seed * 100_000 + index
        )
        yield radius, flux, x, y, halo


def run(detectors, image, *, radii, fluxes, grid, seed, augment):
    """One row per model, noise (real or simulated) and injected halo.

    Each halo is rendered once into each image (and once alone, for its
    region); every model runs on those images.
    """
    images = {"real": image, "simulated": simulated_twin(image, seed)}
    blank = SurveyMosaic(np.where(np.isnan(image.data), np.nan, 0), image.wcs, beam=image.beam)
    fields = {}
    for detector in detectors:
        for noise, mosaic in images.items():
            matched = working_mosaic(detector.card, mosaic)
            _, baseline = detections(detector, mosaic, matched, augment)
            rms = matched.rms.to_value(u.Jy / u.beam)
            fields[detector.card.identifier, noise] = (matched, rms, baseline)
    rows = []
    for number, (radius, flux, x, y, halo) in enumerate(
        injections(image, radii, fluxes, grid, seed)
    ):
        position = image.wcs.pixel_to_world(x, y)
        model, _ = inject(blank, halo, position, rms=image.rms)
        injected = {noise: inject(mosaic, halo, position)[0] for noise, mosaic in images.items()}
        for order, detector in enumerate(detectors):
            working_model = working_mosaic(detector.card, model)
            for noise in images:
                matched, rms, baseline = fields[detector.card.identifier, noise]
                row = {
                    "model": detector.card.identifier,
                    "noise": noise,
                    "e_folding_radius": radius,
                    "flux_density": flux,
                    "x": x,
                    "y": y,
                    **recovery(
                        detector, injected[noise], matched, rms, baseline, working_model, augment
                    ),
                }
                rows.append(((order, noise, number), row))
    rows.sort(key=lambda item: item[0])
    table = Table([row for _, row in rows])
    table["e_folding_radius"].unit = u.arcsec
    table["flux_density"].unit = u.mJy
    field_detections = {key: ndimage.label(field[-1])[1] for key, field in fields.items()}
    return table, field_detections


def recovery(detector, injected, matched, rms, baseline, working_model, augment):
    """Whether a model finds an injected halo, with the halo's S/N and area.

    ``matched`` is the image without the halo on the working grid, ``rms``
    its noise (Jy/beam), ``baseline`` what the model detects there.
    """
    region, snr, n_beams = halo_region(working_model, rms)
    probability, detected = detections(detector, injected, matched, augment)
    found = region.any() and (detected & ~baseline)[region].mean() >= COVERAGE
    return {
        "integrated_snr": snr,
        "n_beams": n_beams,
        "max_probability": float(np.nanmax(probability[region])) if region.any() else np.nan,
        "found": bool(found),
    }


def print_completeness(table, field_detections):
    """Completeness per integrated-S/N bin, real against simulated noise, per model."""
    edges = [edge for edge in SNR_BINS if edge >= 3.0]
    names = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])]
    print(f"{'model':<34} {'noise':<9} {'field':>5} " + " ".join(f"{n:>10}" for n in names))
    grouped = table.group_by(["model", "noise"])
    for key, group in zip(grouped.groups.keys, grouped.groups):
        model, noise = str(key["model"]), str(key["noise"])
        cells = []
        for low, high in zip(edges[:-1], edges[1:]):
            snr = group["integrated_snr"]
            found = group["found"][(snr >= low) & (snr < high)]
            cells.append(f"{np.mean(found):.2f} ({len(found)})" if len(found) else "-")
        print(
            f"{model:<34} {noise:<9} {field_detections[model, noise]:>5} "
            + " ".join(f"{c:>10}" for c in cells)
        )


def print_grid(table):
    """Halos found out of those injected, per radius and flux density, per model and noise."""
    columns = table.group_by(["model", "noise"])
    keys = [(str(k["model"]), str(k["noise"])) for k in columns.groups.keys]
    names = [f"{model.removeprefix('lotss-diffuse-')} {noise}" for model, noise in keys]
    print(f"\n{'r_e':>5} {'S_mJy':>6} {'S/N':>5} {'beams':>6}  " + "  ".join(names))
    cells = table.group_by(["e_folding_radius", "flux_density"])
    for key, cell in zip(cells.groups.keys, cells.groups):
        counts = []
        for (model, noise), name in zip(keys, names):
            found = cell["found"][(cell["model"] == model) & (cell["noise"] == noise)]
            counts.append(f"{f'{found.sum()}/{len(found)}':>{len(name)}}")
        print(
            f"{key['e_folding_radius']:>5g} {key['flux_density']:>6g} "
            f"{np.median(cell['integrated_snr']):>5.0f} {np.median(cell['n_beams']):>6.0f}  "
            + "  ".join(counts)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="real image (FITS) to inject into")
    parser.add_argument("--models", nargs="+", default=[None], help="model names (default model)")
    parser.add_argument("--radii", nargs="+", type=float, default=[15.0, 30.0, 60.0])
    parser.add_argument("--fluxes", nargs="+", type=float, default=[1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    parser.add_argument("--grid", type=int, default=3, help="positions per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-augment", action="store_true", help="no test-time augmentation")
    parser.add_argument("--out", default=None, help="write the per-injection table (ECSV)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        detectors = [DiffuseDetector.from_pretrained(name, device="cpu") for name in args.models]
        image = SurveyMosaic.read(args.image)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table, field_detections = run(
                detectors,
                image,
                radii=args.radii,
                fluxes=args.fluxes,
                grid=args.grid,
                seed=args.seed,
                augment=not args.no_augment,
            )
    except DiffuseRadioError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    if args.out:
        table.write(args.out, overwrite=True)
    print(f"{args.image}: {len(table)} injections; completeness (count) per integrated S/N bin")
    print_completeness(table, field_detections)
    print_grid(table)


if __name__ == "__main__":
    main()
