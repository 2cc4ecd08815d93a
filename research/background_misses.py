"""Why injected halos and relics are missed on real LoTSS backgrounds.

Repeats the injections of the shift benchmark's real-background cells and,
for each, records the integrated S/N, whether it was found, the noise the
network was normalised with at the source against the background's own,
and the network's and island stage's peak probability over the source.

    python research/background_misses.py [MODEL] --real-data ../shared/data/real
"""

import argparse
import warnings

import astropy.units as u
import numpy as np

from diffuseradio import DiffuseDetector
from diffuseradio.exceptions import DiffuseRadioWarning
from diffuseradio.mosaic import SurveyMosaic
from diffuseradio.simulate import inject
from diffuseradio.training.benchmark import real
from diffuseradio.training.benchmark.cells import COVERAGE, cell_seed, covered
from diffuseradio.training.benchmark import _Scale
from diffuseradio.preprocess.inputs import model_input
from injection_recovery import simulated_twin
from diffuseradio.preprocess.normalization import network_input


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--real-data", required=True)
    parser.add_argument("--backgrounds", nargs="*", default=["LoTSS-DR1 P218+55", "LoTSS-DR1 P205+55"])
    parser.add_argument("--twin", action="store_true",
                        help="inject into a noise twin of each image (beam-correlated Gaussian "
                        "noise of its rms, no sources) instead of the image")
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model) if args.model else DiffuseDetector.from_pretrained()
    scale = _Scale(False)
    from pathlib import Path

    for name in args.backgrounds:
        path = real.real_file(Path(args.real_data), *real.REAL_BACKGROUNDS[name])
        mosaic = SurveyMosaic.read(path)
        if args.twin:
            mosaic = simulated_twin(mosaic, 0)
        rms = mosaic.rms.to_value(u.Jy / u.beam)
        rng = np.random.default_rng(cell_seed(name))
        print(f"# {name} rms {rms*1e6:.0f} uJy/beam, {mosaic.shape}")
        print("kind   size  target  snr   found cover  rms_ratio  p_net  p_final")
        grid = [(size, snr) for size in scale.sizes for snr in scale.snr] * scale.repeats
        for size, snr in grid:
            for (component, extent), kind in zip(real._components(size, snr, mosaic.rms, mosaic, rng), ("halo", "relic")):
                position = real._position(mosaic, extent, rng)
                if position is None:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DiffuseRadioWarning)
                    injected, truth = inject(mosaic, component, position)
                    stages = detector.predict(injected, return_stages=True)
                    labels = detector.detect(injected).segmentation
                region = truth > 0
                measured = real._integrated_snr(injected, mosaic, region)
                cover = covered(labels, region)
                noise = _noise(stages.matched, detector)
                clean = _noise(_CLEAN.setdefault(name, model_input(detector.card, mosaic, None)[0]), detector)
                on = _project(region, injected.wcs, stages.matched)
                ratio = float(np.nanmedian(noise[on]) / np.nanmedian(clean)) if on.any() else np.nan
                net = stages.network_probability[-1]
                p_net = float(np.nanmax(net[on])) if on.any() else np.nan
                p_fin = float(np.nanmax(stages.working_probability[-1][on])) if on.any() else np.nan
                print(f"{kind:6s} {size:5.0f} {snr:6.0f} {measured:5.1f}  {int(cover >= COVERAGE)}  {cover:5.2f}  "
                      f"{ratio:8.2f}  {p_net:5.2f}  {p_fin:5.2f}")


_CLEAN = {}


def _noise(matched, detector):
    """The local noise map the network's input is normalised with."""
    norm = detector.card.normalization
    return network_input(matched, name=norm["name"], parameters=norm.get("parameters"),
                         rms_box_beams=norm.get("rms_box_beams", 30.0))[1]


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
