"""Why injected halos and relics are missed on real LoTSS backgrounds.

Repeats the injections of the shift benchmark's real-background cells and,
for each, prints the integrated S/N, whether it was found (and the fraction
covered), the local noise the network input was normalised with over the
source against the field's own, and the segmentation network's and the
final (island stage) peak probability over the source. ``--twin`` injects
into a noise twin of each image instead (beam-correlated Gaussian noise of
its rms, no sources; ``injection_recovery.simulated_twin``).

    cd research && python background_misses.py [MODEL] --real-data ../../shared/data/real [--twin]
"""

import argparse
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from injection_recovery import simulated_twin

from diffuseradio import DiffuseDetector
from diffuseradio.exceptions import DiffuseRadioWarning
from diffuseradio.mosaic import SurveyMosaic
from diffuseradio.preprocess.inputs import model_input
from diffuseradio.preprocess.normalization import network_input
from diffuseradio.simulate import inject
from diffuseradio.training.benchmark import _Scale, real
from diffuseradio.training.benchmark.cells import COVERAGE, cell_seed, covered

BACKGROUNDS = ["LoTSS-DR1 P218+55", "LoTSS-DR1 P205+55"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--real-data", required=True, type=Path)
    parser.add_argument("--backgrounds", nargs="*", default=BACKGROUNDS)
    parser.add_argument("--twin", action="store_true", help="inject into a noise twin")
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model)
    for name in args.backgrounds:
        mosaic = SurveyMosaic.read(real.real_file(args.real_data, *real.REAL_BACKGROUNDS[name]))
        if args.twin:
            mosaic = simulated_twin(mosaic, 0)
        rms = mosaic.rms.to_value(u.Jy / u.beam)
        print(f"# {name} rms {rms * 1e6:.0f} uJy/beam, {mosaic.shape}")
        print("kind   size  target  snr   found cover  rms_ratio  p_net  p_final")
        clean = _noise(model_input(detector.card, mosaic, None)[0], detector)
        for row in _injections(detector, name, mosaic, clean):
            print(
                "{:6s} {:5.0f} {:6.0f} {:5.1f}  {:d}  {:5.2f}  {:8.2f}  {:5.2f}  {:5.2f}".format(
                    *row
                )
            )


def _injections(detector, name, mosaic, clean):
    """The benchmark cell's injections, one row of figures each."""
    scale = _Scale(False)
    rng = np.random.default_rng(cell_seed(name))
    grid = [(size, snr) for size in scale.sizes for snr in scale.snr] * scale.repeats
    for size, snr in grid:
        components = real._components(size, snr, mosaic.rms, mosaic, rng)
        for kind, (component, extent) in zip(("halo", "relic"), components):
            position = real._position(mosaic, extent, rng)
            if position is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DiffuseRadioWarning)
                injected, truth = inject(mosaic, component, position)
                stages = detector.predict(injected, return_stages=True)
                labels = detector.detect(injected).segmentation
            region = truth > 0
            cover = covered(labels, region)
            on = _project(region, injected.wcs, stages.matched)
            noise = _noise(stages.matched, detector)
            peak = (
                (
                    float(np.nanmax(p[-1][on]))
                    for p in (stages.network_probability, stages.working_probability)
                )
                if on.any()
                else (np.nan, np.nan)
            )
            ratio = float(np.nanmedian(noise[on]) / np.nanmedian(clean)) if on.any() else np.nan
            snr_measured = real._integrated_snr(injected, mosaic, region)
            yield (kind, size, snr, snr_measured, int(cover >= COVERAGE), cover, ratio, *peak)


def _noise(matched, detector):
    """The local noise map the network's input is normalised with."""
    norm = detector.card.normalization
    return network_input(
        matched,
        name=norm["name"],
        parameters=norm.get("parameters"),
        rms_box_beams=norm.get("rms_box_beams", 30.0),
    )[1]


def _project(region, input_wcs, matched):
    """The truth region's footprint on the working grid (nearest input pixel)."""
    ny, nx = matched.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    ix, iy = input_wcs.world_to_pixel(matched.wcs.pixel_to_world(xx, yy))
    ix = np.round(ix).astype(int)
    iy = np.round(iy).astype(int)
    ok = (ix >= 0) & (iy >= 0) & (ix < region.shape[1]) & (iy < region.shape[0])
    out = np.zeros((ny, nx), bool)
    out[ok] = region[iy[ok], ix[ok]]
    return out


if __name__ == "__main__":
    main()
