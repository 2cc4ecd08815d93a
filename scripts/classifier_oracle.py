"""How well a model's island stage would do with a perfect island classifier.

Runs a model with an island classifier on simulated fields (the fields of
``scripts/evaluate_model.py``: its training configuration's sky, the given
seed) and counts its detections at the card's operating point twice: with
the classifier's scores, and with each island's true label in their place
(1 when at least ``--label-fraction`` of the island is diffuse truth, else 0).
The second count is the ceiling of the islands, the region cap and the
thresholds: what is missing between the two is the classifier's.

Usage::

    python scripts/classifier_oracle.py lotss-diffuse-unet-2res --seed 20261125 --fields 48
"""

import argparse

import numpy as np
from evaluate_model import test_fields
from scipy import ndimage

from diffuseradio import DiffuseDetector
from diffuseradio.channels import model_input
from diffuseradio.islands import classifier_cutouts, paint_islands
from diffuseradio.models import classify_cutouts, predict_image
from diffuseradio.segmentation import segment
from diffuseradio.training.metrics import ObjectCounts, object_counts


def field_counts(detector, field, fractions):
    """Counts of one field with the classifier's scores and with the true labels."""
    card = detector.card
    settings = card.island_settings
    matched, image = model_input(card, field.mosaic, field.native)
    probability, _ = predict_image(
        detector.model,
        image[: len(card.input_channels)],
        tile_size=card.tile_size,
        overlap=card.tile_overlap,
        precision=detector.precision,
        probabilities=card.probabilities,
        augment=True,
    )
    probability = probability[-1]
    beam = matched.beam_area_pixels
    labels, ids, cutouts = classifier_cutouts(
        image, probability, beam, settings, normalization=card.normalization
    )
    scores = {
        "classifier": classify_cutouts(
            detector.model.island_classifier, cutouts, precision=detector.precision, augment=True
        )
    }
    diffuse = np.asarray(ndimage.mean(field.truth > 0, labels, ids)) if len(ids) else np.zeros(0)
    for fraction in fractions:
        scores[f"true labels ({fraction:g})"] = (diffuse >= fraction).astype(np.float32)
    counts = {}
    for name, values in scores.items():
        painted = paint_islands(
            probability,
            labels,
            ids,
            values,
            region_threshold=settings.region_threshold,
            region_cover=settings.region_cover,
        )
        detections = segment(
            painted,
            card.threshold,
            min_area=card.min_area_beams * beam,
            low_threshold=card.low_threshold,
        )
        counts[name] = object_counts(detections, field)
    return counts


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
    for _, _, field in test_fields([card], [args.seed], args.fields):
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
