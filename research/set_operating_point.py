"""Write a chosen operating point and test metrics into an existing model card.

For a model whose weights are final (e.g. one made by ``diffuseradio
train-islands``): the operating point chosen by ``research/evaluate_model.py
--sweep`` on the validation fields, and the test summary written by
``research/evaluate_model.py --json-dir`` (stored as ``test_*`` metrics).
``--region-threshold`` (and ``--region-cover``) set the island stage's
region cap (:class:`diffuseradio.islands.IslandSettings`); sweep again
after setting it. The weights and their sha256 are not touched.

Usage::

    python research/set_operating_point.py CARD.json --threshold P --low-threshold P
        --min-area-beams A [--region-threshold P [--region-cover F]]
        [--test-metrics FILE.json] [--notes TEXT]
"""

import argparse
import dataclasses
import json
from pathlib import Path

from diffuseradio.models import ModelCard


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card", type=Path)
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--low-threshold", type=float, required=True)
    parser.add_argument("--min-area-beams", type=float, required=True)
    parser.add_argument("--region-threshold", type=float, default=None)
    parser.add_argument("--region-cover", type=float, default=None)
    parser.add_argument("--test-metrics", type=Path, default=None)
    parser.add_argument("--notes", default=None, help="stored as training['notes']")
    args = parser.parse_args()
    card = ModelCard.read(args.card)
    metrics = dict(card.metrics)
    if args.test_metrics:
        test = json.loads(args.test_metrics.read_text())
        metrics.update({f"test_{key}": value for key, value in test.items()})
    training = dict(card.training)
    if args.notes:
        training["notes"] = args.notes
    islands = card.islands
    region = {"region_threshold": args.region_threshold, "region_cover": args.region_cover}
    region = {key: value for key, value in region.items() if value is not None}
    if region:
        if islands is None:
            parser.error(f"{args.card} has no island stage to cap regions with")
        islands = {**islands, **region}
    card = dataclasses.replace(
        card,
        threshold=args.threshold,
        low_threshold=args.low_threshold,
        min_area_beams=args.min_area_beams,
        metrics=metrics,
        training=training,
        islands=islands,
    )
    card.write(args.card)
    print(
        f"wrote {args.card}: threshold {card.threshold}, grown to {card.low_threshold}, "
        f">= {card.min_area_beams} beams"
    )


if __name__ == "__main__":
    main()
