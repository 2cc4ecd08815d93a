"""How many diffuse sources the island stage can reach, for several island settings.

A model's island classifier only sees islands (:func:`diffuseradio.islands.find_islands`),
so a detectable diffuse source that lies on no island (less than 20 % of its
region inside one, the completeness criterion) is out of its reach whatever
it learns. This counts, on the validation fields of a model's training
configuration, the fraction of diffuse sources with integrated S/N >= 8 on an
island, overall and by integrated S/N and size, for each setting given as
``SEED/GROW/MIN_BEAMS/MAX_BEAMS`` (S/N, S/N, working beams, working beams).
(Islands on the compact-source-subtracted image, ``/c``, went with the
island stage's ``subtract_compact`` option; see LOG.rst.)

Usage::

    python research/island_ceiling.py lotss-diffuse-unet --fields 48 \
        --settings 5/3/4/300 4/2.5/4/300 4/2.5/2/inf
"""

import argparse

import numpy as np

from diffuseradio.models import IslandSettings, load_model
from diffuseradio.postprocess import find_islands
from diffuseradio.training import TrainingConfig, simulated_field
from diffuseradio.training.metrics import object_coverage

#: A source counts as reachable when this fraction of its region is on islands.
MIN_COVERAGE = 0.2


def parse_setting(text):
    """``seed/grow/min/max`` S/N and areas."""
    values = text.split("/")
    if len(values) != 4:
        raise ValueError(f"a setting is seed/grow/min/max, not {text!r}")
    seed, grow, low, high = (float(value) for value in values)
    return IslandSettings(
        seed_snr=seed,
        grow_snr=grow,
        min_area_beams=low,
        max_area_beams=high,
    )


def reachable(card, config, settings, count):
    """Per diffuse source (S/N >= 8) of each field: integrated S/N, area in beams and, per
    setting, whether it lies on an island; and per setting the number of islands found."""
    snr, beams, on_island = [], [], [[] for _ in settings]
    islands = np.zeros(len(settings), dtype=int)
    for index in range(count):
        field, image = simulated_field(config, config.data.validation_seed, index, validation=True)
        objects = field.objects
        diffuse = (objects["class_id"] > 0) & objects["detectable"]
        diffuse &= objects["integrated_snr"] >= 8
        snr.append(np.asarray(objects["integrated_snr"][diffuse]))
        beams.append(np.asarray(objects["n_beams"][diffuse]))
        beam = field.mosaic.beam_area_pixels
        for number, (found, setting) in enumerate(zip(on_island, settings)):
            labels = find_islands(image[0], beam, setting, normalization=card.normalization)
            islands[number] += np.count_nonzero(np.bincount(labels.ravel())[1:])
            found.append(np.asarray(object_coverage(labels > 0, field)[diffuse]) >= MIN_COVERAGE)
    return (
        np.concatenate(snr),
        np.concatenate(beams),
        [np.concatenate(found) for found in on_island],
        islands,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="registry name, name@version or card path")
    parser.add_argument("--fields", type=int, default=48)
    parser.add_argument("--settings", nargs="+", default=["5/3/4/300"])
    args = parser.parse_args()
    card = load_model(args.model, device="cpu").card
    config = TrainingConfig.from_dict(card.training["config"])
    settings = [parse_setting(text) for text in args.settings]
    snr, beams, on_island, islands = reachable(card, config, settings, args.fields)
    bins = {
        "S/N 8-15": snr < 15,
        "15-30": (snr >= 15) & (snr < 30),
        "> 30": snr >= 30,
        "< 10 beams": beams < 10,
        "10-30": (beams >= 10) & (beams < 30),
        "30-300": (beams >= 30) & (beams < 300),
        "> 300": beams >= 300,
    }
    print(
        f"{card.identifier}: {args.fields} validation fields, {snr.size} diffuse sources S/N >= 8"
    )
    header = " ".join(f"{key:>10}" for key in bins)
    print(f"{'seed/grow/min/max':>20} {'islands':>8} {'all':>6} {header}")
    for text, found, count in zip(args.settings, on_island, islands):
        cells = " ".join(f"{found[mask].mean():>10.3f}" for mask in bins.values())
        print(f"{text:>20} {count / args.fields:>8.1f} {found.mean():>6.3f} {cells}")


if __name__ == "__main__":
    main()
