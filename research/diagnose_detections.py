"""Where a model with an island stage loses diffuse sources, and what its false detections are.

On simulated fields (as ``research/evaluate_model.py`` makes them: the beam at the
working beam, with the native image for a two-resolution model), at the card's
operating point, with test-time augmentation:

- each *missed* diffuse source with integrated S/N >= 8 is put in one class:
  ``no island`` (less than 20 % of its region on islands: out of the
  classifier's reach), ``own island, low score`` (its island is mostly
  diffuse truth and the classifier scored it under the threshold) or
  ``merged island`` (its island is mostly something else, e.g. a radio
  galaxy);
- each *false* detection (less than 20 % of its pixels diffuse truth) is
  listed with its area, the kinds of radio galaxy under it, the fraction of
  it on islands, and the best score of those islands;
- the radio galaxies taken for diffuse emission are counted by kind, and
  apart those taken only by true detections (e.g. a head-tail galaxy whose
  tail leaves its cluster's halo).

Usage::

    python research/diagnose_detections.py lotss-diffuse-unet-2res --seed 20261125 --fields 48
"""

import argparse
from collections import Counter

import numpy as np
from evaluate_model import test_fields

from diffuseradio import DiffuseDetector
from diffuseradio.postprocess import paint_islands, segment
from diffuseradio.training.metrics import object_coverage

#: Overlap that counts (the completeness and purity criterion).
COVERAGE = 0.2


def island_stage(detector, field):
    """Segmentation probability, island labels, the islands present, their scores and
    the working beam area of one field (``DiffuseDetector.predict``'s stages)."""
    native = field.native if detector.card.native_beam is not None else None
    stages = detector.predict(field.mosaic, native=native, return_stages=True)
    if stages.matched.shape != field.truth.shape:
        raise ValueError("the fields must be simulated on the model's working grid")
    beam = stages.matched.beam_area_pixels
    probability = stages.network_probability[-1]
    return probability, stages.island_labels, stages.island_ids, stages.island_scores, beam


def card_detections(card, probability, labels, ids, scores, beam):
    """Detections at the card's operating point, the islands raised to ``scores``."""
    settings = card.island_settings
    region = {"region_threshold": settings.region_threshold, "region_cover": settings.region_cover}
    painted = paint_islands(probability, labels, ids, scores, **region)
    return segment(
        painted,
        card.threshold,
        min_area=card.min_area_beams * beam,
        low_threshold=card.low_threshold,
    )


def stages(detector, field):
    """Island labels, island scores (indexed by label), detections and the working beam
    area of one field."""
    probability, labels, ids, scores, beam = island_stage(detector, field)
    detections = card_detections(detector.card, probability, labels, ids, scores, beam)
    by_label = np.zeros(int(labels.max()) + 1, np.float32)
    by_label[ids] = scores
    return labels, by_label, detections, beam


def missed_classes(field, labels, detections):
    """Class of each missed diffuse source with integrated S/N >= 8 (see the module doc)."""
    found = object_coverage(detections, field)
    on_islands = object_coverage(labels, field)
    area = np.bincount(labels.ravel())
    diffuse_fraction = np.bincount(labels.ravel(), weights=(field.truth > 0).ravel()) / np.maximum(
        area, 1
    )
    classes = []
    for row, covered, island_cover in zip(field.objects, found, on_islands):
        if not (row["class_id"] > 0 and row["detectable"] and row["integrated_snr"] >= 8):
            continue
        if covered >= COVERAGE:
            classes.append("found")
        elif not island_cover >= COVERAGE:
            classes.append("no island")
        else:
            under = labels[field.instances == row["id"]]
            island = np.bincount(under[under > 0]).argmax()
            merged = diffuse_fraction[island] < 0.5
            classes.append("merged island" if merged else "own island, low score")
    return classes


def radio_galaxies_taken(field, detections):
    """``(kind, taken, taken only by true detections)`` of each radio galaxy of a field."""
    truth = field.truth > 0
    area = np.bincount(detections.ravel())
    on_truth = np.bincount(detections[truth], minlength=area.size)
    true = on_truth >= COVERAGE * np.maximum(area, 1)
    outside = np.where(truth, 0, field.instances)
    rows = []
    for row, covered in zip(field.objects, object_coverage(detections, field)):
        if row["class_id"] > 0 or np.isnan(covered):
            continue
        taken = bool(covered >= COVERAGE)
        under = detections[(outside == row["id"]) & (detections > 0)]
        rows.append((str(row["kind"]), taken, taken and bool(true[under].all())))
    return rows


def false_detections(field, labels, scores, detections, beam):
    """One row per detection with less than ``COVERAGE`` of its pixels diffuse truth."""
    radio_galaxies = np.where(field.truth > 0, 0, field.instances)
    kinds = dict(zip(field.objects["id"].tolist(), field.objects["kind"].tolist()))
    rows = []
    for ident in np.unique(detections[detections > 0]):
        inside = detections == ident
        if (field.truth[inside] > 0).mean() >= COVERAGE:
            continue
        islands = labels[inside]
        rows.append(
            {
                "beams": inside.sum() / beam,
                "kinds": sorted({kinds[i] for i in np.unique(radio_galaxies[inside]) if i}),
                "on_islands": (islands > 0).mean(),
                "best_score": scores[islands].max() if (islands > 0).any() else np.nan,
            }
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="registry name, name@version or card path")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--fields", type=int, default=48)
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model, device="cpu")
    card = detector.card
    if card.islands is None:
        parser.error(f"{card.identifier} has no island stage")
    classes, false, galaxies = Counter(), [], []
    for _, _, field in test_fields([card], [args.seed], [args.fields]):
        labels, scores, detections, beam = stages(detector, field)
        classes.update(missed_classes(field, labels, detections))
        false += false_detections(field, labels, scores, detections, beam)
        galaxies += radio_galaxies_taken(field, detections)
    total = sum(classes.values())
    print(
        f"{card.identifier}, seed {args.seed}, {args.fields} fields, threshold {card.threshold}: "
        f"{total} diffuse sources with integrated S/N >= 8"
    )
    for name in ("found", "no island", "own island, low score", "merged island"):
        print(f"  {name:<24} {classes[name]:>4}  ({classes[name] / max(total, 1):.3f})")
    print("radio galaxies taken for diffuse emission (of which only by true detections):")
    for kind in sorted({row[0] for row in galaxies}):
        of_kind = [row for row in galaxies if row[0] == kind]
        taken = sum(row[1] for row in of_kind)
        by_true = sum(row[2] for row in of_kind)
        share = taken / len(of_kind)
        print(f"  {kind:<10} {taken:>4} of {len(of_kind):>5} ({share:.3f})  ({by_true})")
    print(f"{len(false)} false detections (area in working beams, radio galaxies under it,")
    print("fraction on islands, best island score):")
    for row in sorted(false, key=lambda row: -row["beams"]):
        kinds = ", ".join(row["kinds"]) or "none"
        print(
            f"  {row['beams']:7.1f}  {kinds:<28} {row['on_islands']:5.2f}  {row['best_score']:.3f}"
        )


if __name__ == "__main__":
    main()
