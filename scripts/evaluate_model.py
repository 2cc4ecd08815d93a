"""Evaluate a model on simulated fields it never saw: the figures of the model cards.

Fields are simulated at the model's working beam and pixel scale with the
noise range and the validation population of its training configuration
(the default sky unless the configuration sets another), but with a seed
that neither training nor validation used. Each field goes through
``DiffuseDetector.detect`` (the full inference path) and is counted with
:func:`diffuseradio.training.object_counts`.

``--sweep`` prints completeness, purity and the radio-galaxy false-positive
rate over a grid of thresholds and minimum areas (use it on the *validation*
seed to choose the card's operating point, then report on the test seed).

Usage::

    python scripts/evaluate_model.py CARD.json --seed 777 --fields 48 [--sweep]
"""

import argparse
import json
import warnings

import numpy as np
import torch

from diffuseradio import DiffuseDetector
from diffuseradio.segmentation import segment
from diffuseradio.training import ObjectCounts, TrainingConfig, object_counts, simulated_field


def test_fields(card, seed, count):
    """Simulated fields at the card's working grid (no beam jitter)."""
    values = json.loads(json.dumps(card.training["config"]))
    beam = card.beam.major.to_value("arcsec")
    values["data"]["beam_jitter_arcsec"] = [beam, beam]
    config = TrainingConfig.from_dict(values)
    for index in range(count):
        field, _ = simulated_field(config, seed, index, validation=True)
        yield field


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card")
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--fields", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--no-augment", action="store_true", help="no test-time augmentation")
    parser.add_argument("--json", default=None, help="write the summary (no sweep) to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    detector = DiffuseDetector.from_pretrained(args.card, device="cpu")
    card = detector.card
    thresholds = np.round(np.arange(0.3, 0.96, 0.05), 2) if args.sweep else [card.threshold]
    areas = [4.0, 8.0, 16.0] if args.sweep else [4.0]
    counts = {(t, a): ObjectCounts() for t in thresholds for a in areas}
    for field in test_fields(card, args.seed, args.fields):
        probability = detector.predict(field.mosaic, augment=not args.no_augment)
        beam_pixels = field.mosaic.beam_area_pixels
        for threshold in thresholds:
            for area in areas:
                labels = segment(probability, threshold, min_area=area * beam_pixels)
                counts[threshold, area] = counts[threshold, area] + object_counts(labels, field)
    print(
        f"model {card.identifier}, seed {args.seed}, {args.fields} fields, "
        f"augment {not args.no_augment}"
    )
    print(
        f"{'threshold':>9} {'min area':>8} {'C(S/N>=8)':>9} {'C(S/N>=5)':>9} {'purity':>7} "
        f"{'RG as diffuse':>13} {'objects':>7} {'detections':>10}"
    )
    for (threshold, area), total in counts.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            summary = total.summary()
        print(
            f"{threshold:>9.2f} {area:>8.0f} {summary['completeness_snr_ge_8']:>9.3f} "
            f"{summary['completeness_snr_ge_5']:>9.3f} {summary['purity']:>7.3f} "
            f"{summary['radio_galaxy_false_positive_rate']:>13.3f} "
            f"{summary['n_diffuse_objects']:>7} {summary['n_detections']:>10}"
        )
    if not args.sweep:
        summary = {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in total.summary().items()
        }
        summary.update(seed=args.seed, fields=args.fields, threshold=float(card.threshold))
        text = json.dumps(summary, indent=1)
        print(text)
        if args.json:
            with open(args.json, "w") as handle:
                handle.write(text)


if __name__ == "__main__":
    main()
