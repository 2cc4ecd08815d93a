"""Evaluate models on simulated fields they never saw, with research extras.

The package's ``diffuseradio evaluate`` (``diffuseradio.training.evaluate_models``)
gives the figures of a card; this script adds the experiments' options below
(``--from-native``, ``--zero-native``, ``--objects``, side-by-side tables).

Fields are simulated at the models' working beam and pixel scale with the
noise range and the validation population of the first model's training
configuration (the default sky unless the configuration sets another), but
with a seed that neither training nor validation used. Each field goes
through ``DiffuseDetector.predict`` (the full inference path) and is counted
with :func:`diffuseradio.training.object_counts`. Several models are
evaluated side by side on the same fields (they must share the working
grid).

``--sweep`` prints completeness, purity and the radio-galaxy false-positive
rate over a grid of thresholds, low (hysteresis) thresholds and minimum
areas (the completeness by integrated S/N against the thermal noise, and
against the local noise with the calibration artefacts of bright sources:
``SimulatedField.objects["local_snr"]``), and two operating points
(:func:`diffuseradio.training.operating_point`): the best F1 with at most
10 % of the radio galaxies taken for diffuse emission, and the most complete
point within that budget at purity >= 0.85; use it on the *validation* seed
to choose the card's operating point, then report on the test seed.

``--from-native`` gives every model the field's native-resolution image
alone (as a user with only a 6" mosaic would: the tapered channel, or the
one-channel models' input, is then that image convolved to the working
beam) and averages the probabilities back onto the working grid to count
objects; by default a two-channel model gets the simulated tapered image
and the native one, and a one-channel model the tapered image.

``--zero-native`` also evaluates, for each model with a native-resolution
channel, a copy whose first-layer weights on that channel are zero (a
network blind to the native image): how much of its performance the
channel gives.

``--objects DIR`` writes, for each model, one row per counted object (the
detectable diffuse sources and the radio galaxies) with its simulated
properties, the highest probability the model gives inside its region and
the fraction of the region detected at the card's operating point, to
``DIR/NAME-VERSION.ecsv``: which sources a model misses and why. It also
prints, per size bin, how well the highest probability separates the
diffuse sources (integrated S/N >= 8) from the radio galaxies of that size,
all and of each kind: the area under the ROC curve (0.5: not at all, 1:
perfectly), whatever the threshold.

Usage::

    python research/evaluate_model.py CARD.json [CARD.json ...] --seed 777 --fields 48 [--sweep]

Several seeds (``--seed 777 4242 5151``, with ``--fields 48`` for each or
``--fields 48 48 96``, one number per seed) pool their fields into one count:
48 fields hold about 190 diffuse sources of S/N >= 8, a binomial spread of
+-0.024 in completeness; the script prints the counts and their 68 %
intervals at the card's point.
"""

import argparse
import copy
import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from astropy.table import Table, vstack
from scipy import ndimage

from diffuseradio import DiffuseDetector, SurveyMosaic
from diffuseradio.mosaic.regrid import pixel_average
from diffuseradio.postprocess import segment
from diffuseradio.training import (
    SIZE_BINS,
    ObjectCounts,
    held_out_fields,
    object_counts,
    object_coverage,
    operating_point,
    roc_auc,
    sweep_points,
)


def test_fields(cards, seeds, counts):
    """``(seed, index, field)`` of the held-out fields.

    See ``diffuseradio.training.held_out_fields``.
    """
    return held_out_fields(cards, seeds, counts)


def operating_points(card, sweep):
    """``(threshold, low threshold, minimum area in beams)`` to count."""
    return sweep_points(card, sweep)


def blind_to_native(detector):
    """A copy of a two-channel detector whose first layer ignores the native channel."""
    model = copy.deepcopy(detector.model)
    first = next(p for p in model.parameters() if p.ndim == 4)  # the first convolution
    with torch.no_grad():
        first[:, 1] = 0
    card = dataclasses.replace(detector.card, version=f"{detector.card.version}+zeronative")
    return DiffuseDetector(model, card, device=detector.device, precision=detector.precision)


def probability_on_working_grid(detector, field, *, from_native, augment):
    """The detector's probability of diffuse emission on the field's working grid."""
    if from_native:
        native = field.native
        probability = detector.predict(native, augment=augment)
        on_native = SurveyMosaic(probability, native.wcs, beam=native.beam)
        return pixel_average(on_native, field.mosaic).data
    native = None if detector.card.native_beam is None else field.native
    return detector.predict(field.mosaic, native=native, augment=augment)


OBJECT_COLUMNS = (
    "id",
    "kind",
    "class_id",
    "n_beams",
    "size",
    "flux_density",
    "peak_snr",
    "mean_snr",
    "integrated_snr",
    "local_snr",
)


def object_table(field, seed, index, probability, labels):
    """The counted objects of a field with what the model made of them.

    One row per detectable diffuse source and per radio galaxy, with the
    field's ``seed`` and ``index``, the highest ``probability`` inside the object's region
    (``max_probability``) and the fraction of the region inside the
    detections ``labels`` (``coverage``; found, or taken for diffuse, from
    0.2).
    """
    objects = field.objects
    coverage = object_coverage(labels, field)
    counted = ~np.isnan(coverage) & ((objects["class_id"] == 0) | objects["detectable"])
    rows = Table(objects[counted][list(OBJECT_COLUMNS)])
    rows.add_column(np.full(len(rows), index), name="field", index=0)
    rows.add_column(np.full(len(rows), seed), name="seed", index=0)
    ids = np.asarray(rows["id"])
    rows["max_probability"] = ndimage.maximum(probability, field.instances, ids) if len(ids) else []
    rows["coverage"] = coverage[counted]
    return rows


def print_separability(name, table):
    """Per size bin: how well the highest probability tells diffuse sources from radio galaxies.

    Against all radio galaxies of the bin, then against each kind.
    """
    diffuse = (table["class_id"] > 0) & (table["integrated_snr"] >= 8)
    galaxy = table["class_id"] == 0
    kinds = sorted(set(table["kind"][galaxy]))
    print(f"\n{name}: diffuse sources (S/N >= 8) and radio galaxies by area (working beams)")
    print(
        f"{'beams':>10} {'diffuse':>7} {'found':>6} {'RG':>5} {'RG taken':>8} {'ROC AUC':>7}  "
        + " ".join(f"{f'AUC {kind}':>12}" for kind in kinds)
    )
    for low, high in zip(SIZE_BINS[:-1], SIZE_BINS[1:]):
        in_bin = (table["n_beams"] >= low) & (table["n_beams"] < high)
        d, g = table[diffuse & in_bin], table[galaxy & in_bin]
        found = np.mean(d["coverage"] >= 0.2) if len(d) else math.nan
        taken = np.mean(g["coverage"] >= 0.2) if len(g) else math.nan
        scores = d["max_probability"]
        by_kind = [roc_auc(scores, g["max_probability"][g["kind"] == kind]) for kind in kinds]
        print(
            f"{f'{low:g}-{high:g}':>10} {len(d):>7} {found:>6.2f} {len(g):>5} {taken:>8.2f} "
            f"{roc_auc(scores, g['max_probability']):>7.2f}  "
            + " ".join(f"{auc:>12.2f}" for auc in by_kind)
        )


def check_same_grid(detectors):
    first = detectors[0].card
    for detector in detectors[1:]:
        card = detector.card
        if card.beam != first.beam or card.pixel_scale != first.pixel_scale:
            raise SystemExit(
                f"{card.identifier} works on another grid than {first.identifier}; "
                "evaluate them separately"
            )


def clean(summary):
    """JSON-ready: NaN (nothing to count) becomes None."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}


def print_table(card, seeds, fields, augment, counts):
    seeds = " ".join(f"{seed} ({n} fields)" for seed, n in zip(seeds, fields))
    print(f"model {card.identifier}, seed {seeds}, augment {augment}")
    print(
        f"{'threshold':>9} {'low':>5} {'min area':>8} {'C(S/N>=8)':>9} {'C(S/N>=5)':>9} "
        f"{'C(local>=8)':>11} "
        f"{'purity':>7} {'RG as diffuse':>13} {'objects':>7} {'detections':>10}"
    )
    for (threshold, low, area), total in sorted(counts.items()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            summary = total.summary()
        print(
            f"{threshold:>9.2f} {low:>5.2f} {area:>8.0f} {summary['completeness_snr_ge_8']:>9.3f} "
            f"{summary['completeness_snr_ge_5']:>9.3f} "
            f"{summary['completeness_local_snr_ge_8']:>11.3f} {summary['purity']:>7.3f} "
            f"{summary['radio_galaxy_false_positive_rate']:>13.3f} "
            f"{summary['n_diffuse_objects']:>7} {summary['n_detections']:>10}"
        )


def print_counted(counts):
    """The headline fractions at the card's point as counts, with 68 % binomial intervals."""
    intervals = counts.intervals()
    for name, (k, n) in counts.headline_counts().items():
        low, high = intervals[name]
        print(f"  {name:<34} {k:>4} / {n:<4} = {k / n if n else float('nan'):.3f} "
              f"(68 % interval {low:.3f}-{high:.3f})")  # fmt: skip


def print_operating_point(counts):
    """The sweep's point with the best F1 within the 10 % radio-galaxy budget, and its most
    complete point there at purity >= 0.85 (the goal's floor)."""
    rules = [
        ("best F1 with <= 10 % of radio galaxies taken for diffuse", None),
        ("most complete with purity >= 0.85 and <= 10 % of radio galaxies", 0.85),
    ]
    for rule, min_purity in rules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            point, summary = operating_point(counts, 0.1, min_purity=min_purity)
        if point is None:
            print(f"operating point ({rule}): none")
            continue
        threshold, low, area = point
        print(
            f"operating point ({rule}): "
            f"threshold {threshold:.2f}, low {low:.2f}, min area {area:g} beams: "
            f"C(S/N>=8) {summary['completeness_snr_ge_8']:.3f} "
            f"(local S/N >= 8: {counts[point].completeness(8.0, local=True):.3f}), "
            f"purity {summary['purity']:.3f}, "
            f"RG {summary['radio_galaxy_false_positive_rate']:.3f}, F1 {summary['f1']:.3f}"
        )


def print_comparison(summaries):
    """One row per headline figure, one column per model."""
    names = list(summaries)
    first = next(iter(summaries.values()))
    keys = [
        k
        for k, v in first.items()
        if k.startswith(("completeness", "purity")) and not isinstance(v, list)  # not intervals
    ]
    keys += ["radio_galaxy_false_positive_rate", "n_diffuse_objects", "n_detections"]
    width = max(len(name) for name in names) + 2
    print(f"{'':<44}" + "".join(f"{name:>{width}}" for name in names))
    for key in keys:
        values = [summaries[name].get(key) for name in names]
        cells = "".join(f"{'-' if v is None else format(v, '.3g'):>{width}}" for v in values)
        print(f"{key:<44}{cells}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cards", nargs="+", help="model names or card files")
    parser.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[777],
        help="seed of the fields (777); several pool their fields into one count",
    )
    parser.add_argument(
        "--fields",
        type=int,
        nargs="+",
        default=[48],
        help="fields per seed (48): one number for all seeds, or one per seed",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--no-augment", action="store_true", help="no test-time augmentation")
    parser.add_argument(
        "--from-native",
        action="store_true",
        help="give every model the native-resolution image alone",
    )
    parser.add_argument(
        "--zero-native",
        action="store_true",
        help="also evaluate each two-channel model with its native-channel weights zeroed",
    )
    parser.add_argument(
        "--json-dir", default=None, help="write each model's summary (no sweep) to DIR/NAME.json"
    )
    parser.add_argument(
        "--objects",
        default=None,
        metavar="DIR",
        help="write each model's per-object table (no sweep) to DIR/NAME-VERSION.ecsv",
    )
    args = parser.parse_args()
    if len(args.fields) == 1:
        args.fields = args.fields * len(args.seed)
    if len(args.fields) != len(args.seed) or min(args.fields) < 1:
        parser.error("--fields takes one positive number, or one per --seed")
    torch.set_num_threads(args.threads)
    detectors = [DiffuseDetector.from_pretrained(card, device="cpu") for card in args.cards]
    if args.from_native and all(d.card.native_beam is None for d in detectors):
        parser.error("--from-native needs a model with a native channel (it sets the native image)")
    if args.zero_native:
        detectors += [blind_to_native(d) for d in detectors if d.card.native_beam is not None]
    check_same_grid(detectors)
    points = {d.card.identifier: operating_points(d.card, args.sweep) for d in detectors}
    if args.objects and args.sweep:
        parser.error("--objects needs the cards' operating points (no --sweep)")
    counts = {name: {p: ObjectCounts() for p in pts} for name, pts in points.items()}
    tables = {name: [] for name in points}
    fields = test_fields([d.card for d in detectors], args.seed, args.fields)
    for seed, index, field in fields:
        beam_pixels = field.mosaic.beam_area_pixels
        for detector in detectors:
            name = detector.card.identifier
            probability = probability_on_working_grid(
                detector, field, from_native=args.from_native, augment=not args.no_augment
            )
            for threshold, low, area in points[name]:
                labels = segment(
                    probability, threshold, min_area=area * beam_pixels, low_threshold=low
                )
                counts[name][threshold, low, area] += object_counts(labels, field)
            if args.objects:
                tables[name].append(object_table(field, seed, index, probability, labels))
    summaries = {}
    for detector in detectors:
        card = detector.card
        name = card.identifier
        print_table(card, args.seed, args.fields, not args.no_augment, counts[name])
        if args.sweep:
            print_operating_point(counts[name])
        if not args.sweep:
            total = counts[name][card.threshold, card.low_threshold, card.min_area_beams]
            summary = clean(total.summary())
            summary.update(
                seed=args.seed[0] if len(args.seed) == 1 else args.seed,
                fields=sum(args.fields),
                threshold=float(card.threshold),
                low_threshold=float(card.low_threshold),
                min_area_beams=float(card.min_area_beams),
            )
            summary.update(
                {f"{key}_interval": list(pair) for key, pair in total.intervals().items()}
            )
            summaries[name] = summary
            print_counted(total)
            if args.json_dir:
                Path(args.json_dir).mkdir(parents=True, exist_ok=True)
                path = Path(args.json_dir) / f"{card.name}-{card.version}.json"
                path.write_text(json.dumps(summary, indent=1))
            if args.objects:
                Path(args.objects).mkdir(parents=True, exist_ok=True)
                path = Path(args.objects) / f"{card.name}-{card.version}.ecsv"
                table = vstack(tables[name])
                table.write(path, overwrite=True)
                print_separability(name, table)
    if summaries:
        print(f"\nside by side (size bins in working beams: {SIZE_BINS})")
        print_comparison(summaries)


if __name__ == "__main__":
    main()
