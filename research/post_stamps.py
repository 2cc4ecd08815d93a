"""The detector on post-stamps: whole simulated fields against cut-outs of them.

Simulated fields of the model's training sky (512^2 working pixels); around
each diffuse source (integrated S/N >= 8), or each bright radio galaxy
(integrated S/N >= 50) with ``--radio-galaxies``, a square cut-out of
``--box`` working pixels. Each source is scored three ways: in the detection
of the whole field, in a detection of the cut-out alone as it is given to the
network, and of the cut-out embedded in noise as the detector now does
(``diffuseradio.preprocess.embed_in_noise``). A source counts as found (a
radio galaxy as taken) when detections cover 20 % of its region inside the
cut-out.

    cd research && python post_stamps.py --box 50 --fields 16 [--radio-galaxies]
"""

import argparse

import astropy.units as u
import numpy as np

import diffuseradio.detector as detector_module
from diffuseradio import DiffuseDetector
from diffuseradio.simulate import SkySimulator
from diffuseradio.training.benchmark.cells import card_labels, cell_seed
from diffuseradio.training.config import TrainingConfig

EMBEDDED = detector_module.embed_in_noise


def _alone(image, tile_size, beam_pixels, **normalization):
    """The cut-out as it is: no noise around it."""
    return image, (slice(None), slice(None))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=int, default=50, help="cut-out side, working pixels")
    parser.add_argument("--fields", type=int, default=16)
    parser.add_argument("--radio-galaxies", action="store_true")
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained()
    card = detector.card
    simulator = training_sky(card, 512, cell_seed("cutouts"))
    found = {"whole field": [0, 0], "cut-out alone": [0, 0], "cut-out in noise": [0, 0]}
    for index in range(args.fields):
        field = simulator.field(index)
        detector_module.embed_in_noise = EMBEDDED
        whole = card_labels(card, detector.predict(field.mosaic), field.mosaic)
        for row in _chosen(field.objects, args.radio_galaxies):
            window = _window(row, args.box, field.mosaic.shape)
            region = field.instances[window] == row["id"]
            if region.sum() < 0.5 * (field.instances == row["id"]).sum():
                continue  # mostly outside its cut-out
            cutout = type(field.mosaic)(
                field.mosaic.data[window], field.mosaic.wcs[window], beam=field.mosaic.beam
            )
            for way, embed in (("cut-out alone", _alone), ("cut-out in noise", EMBEDDED)):
                detector_module.embed_in_noise = embed
                labels = card_labels(card, detector.predict(cutout), cutout)
                _count(found[way], labels, region)
            _count(found["whole field"], whole[window], region)
        print(
            f"after {index + 1} fields: "
            + ", ".join(f"{way} {n}/{of} ({n / max(of, 1):.2f})" for way, (n, of) in found.items()),
            flush=True,
        )


def training_sky(card, size, seed, **changes):
    """A simulator of the model's validation sky: ``size^2`` working pixels, its mean rms."""
    config = TrainingConfig.from_dict(card.training["config"])
    rms = np.sqrt(np.prod(config.data.rms_ujy)) * u.uJy / u.beam
    settings = {**config.data.validation_settings, **changes}
    return SkySimulator(size, card.pixel_scale, card.beam, rms, seed=seed, **settings)


def _chosen(objects, radio_galaxies):
    for row in objects:
        if not row["detectable"]:
            continue
        if radio_galaxies and row["class_id"] == 0 and row["integrated_snr"] >= 50:
            yield row
        elif not radio_galaxies and row["class_id"] > 0 and row["integrated_snr"] >= 8:
            yield row


def _window(row, box, shape):
    x, y, half = int(round(row["x"])), int(round(row["y"])), box // 2
    return (
        slice(max(0, y - half), min(shape[0], y + half)),
        slice(max(0, x - half), min(shape[1], x + half)),
    )


def _count(tally, labels, region):
    tally[1] += 1
    tally[0] += bool((labels[region] > 0).mean() >= 0.2)


if __name__ == "__main__":
    main()
