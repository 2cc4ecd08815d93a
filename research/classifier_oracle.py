"""How well a model's island stage would do with a perfect island classifier.

Runs a model with an island classifier on simulated fields (the fields of
``research/evaluate_model.py``: its training configuration's sky, the given
seed) and counts its detections at the card's operating point twice: with
the classifier's scores, and with each island's true label in their place
(1 when at least ``--label-fraction`` of the island is diffuse truth, else 0).
The second count is the ceiling of the islands, the region cap and the
thresholds: what is missing between the two is the classifier's.

Usage::

    python research/classifier_oracle.py lotss-diffuse-unet-2res --seed 20261125 --fields 48
"""

import argparse

import numpy as np
from diagnose_detections import card_detections, island_stage
from evaluate_model import test_fields
from scipy import ndimage

from diffuseradio import DiffuseDetector
from diffuseradio.training.metrics import ObjectCounts, object_counts


def field_counts(detector, field, fractions):
    """Counts of one field with the classifier's scores and with the true labels."""
    probability, labels, ids, scores, beam = island_stage(detector, field)
    diffuse = np.asarray(ndimage.mean(field.truth > 0, labels, ids)) if len(ids) else np.zeros(0)
    scores = {"classifier": scores}
    for fraction in fractions:
        scores[f"true labels ({fraction:g})"] = (diffuse >= fraction).astype(np.float32)
    return {
        name: object_counts(
            card_detections(detector.card, probability, labels, ids, values, beam), field
        )
        for name, values in scores.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="registry name, name@version or card path")
    parser.add_argument("--seed", type=int, default=20261125, help="seed of the fields")
    parser.add_argument("--fields", type=int, default=48)
    parser.add_argument(
        "--label-fraction",
        type=float,
        nargs="+",
        default=[0.2, 0.5],
        help="an island is truly diffuse when this fraction of it is diffuse truth",
    )
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model, device="cpu")
    card = detector.card
    if card.islands is None:
        parser.error(f"{card.identifier} has no island classifier")
    totals = {}
    for _, _, field in test_fields([card], [args.seed], [args.fields]):
        for name, counts in field_counts(detector, field, args.label_fraction).items():
            totals[name] = totals.get(name, ObjectCounts()) + counts
    print(
        f"{card.identifier}, seed {args.seed}, {args.fields} fields, threshold {card.threshold}, "
        f"grown to {card.low_threshold}, >= {card.min_area_beams:g} beams"
    )
    for name, counts in totals.items():
        s = counts.summary()
        print(
            f"{name:>22}: C(S/N>=8) {s['n_found_snr_ge_8']}/{s['n_snr_ge_8']} = "
            f"{s['completeness_snr_ge_8']:.3f}, purity {s['purity']:.3f}, radio galaxies "
            f"{s['n_radio_galaxies_as_diffuse']}/{s['n_radio_galaxies']} = "
            f"{s['radio_galaxy_false_positive_rate']:.3f}"
        )


if __name__ == "__main__":
    main()
