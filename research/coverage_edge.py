"""Simulated fields blanked outside a circle (a mosaic's coverage edge): blanks as zeros or noise.

768^2 working pixels (76.8') of the training sky, blanked beyond a radius of
19'; the detector with noise in the blanks (as it runs) and with the blanks
left as zeros. Prints, after each field, for each: sources found / counted
at integrated S/N >= 8, true detections / detections, radio galaxies taken
/ counted.

    cd research && python coverage_edge.py FIELDS
"""

import argparse

import astropy.units as u
from post_stamps import training_sky

import diffuseradio.detector as detector_module
from diffuseradio import DiffuseDetector
from diffuseradio.training.benchmark.cells import card_labels
from diffuseradio.training.metrics import ObjectCounts, object_counts

WITH_NOISE = detector_module.embed_in_noise


def _zeros(image, tile_size, beam_pixels, blank=None, **options):
    """The blanks left as zeros (the margin of small images still gets noise)."""
    return WITH_NOISE(image, tile_size, beam_pixels, blank=None, **options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fields", type=int)
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained()
    card = detector.card
    simulator = training_sky(card, 768, 99, blank_radius=19 * u.arcmin)
    counts = {"noise": ObjectCounts(), "zeros": ObjectCounts()}
    for index in range(args.fields):
        field = simulator.field(index)
        for way, embed in (("noise", WITH_NOISE), ("zeros", _zeros)):
            detector_module.embed_in_noise = embed
            probability = detector.predict(field.mosaic)
            counts[way] += object_counts(card_labels(card, probability, field.mosaic), field)
        print(f"after {index + 1} fields:", ", ".join(_summary(k, v) for k, v in counts.items()))


def _summary(way, counts):
    headline = counts.headline_counts()
    found, total = headline["completeness_snr_ge_8"]
    true, detections = headline["purity"]
    taken = f"{counts.radio_galaxies_as_diffuse}/{counts.radio_galaxies}"
    return f"{way}: found {found}/{total}, true {true}/{detections}, radio galaxies taken {taken}"


if __name__ == "__main__":
    main()
