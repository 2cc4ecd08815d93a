"""The brightest diffuse sources a model misses on the test fields (research/LOG.rst).

For a model with an island stage, at its card's operating point, on the
test fields of ``research/evaluate_model.py`` (seed 777): the diffuse sources
of integrated S/N >= 8 with less than 20 % of their region detected, the
brightest first. Each row shows the 20" image in units of the thermal noise,
the simulated object regions with the diffuse truth (white contour), the
confuser mask (radio galaxies and calibration artefacts) and the classifier's
score of each island. Writes ``missed_sources_NAME.png`` into ``--output``
(default: the current folder). Run from the repository root (a few
minutes)::

    python research/plot_missed_sources.py lotss-diffuse-unet-2res@1.4.0
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from diagnose_detections import COVERAGE, stages  # noqa: E402
from evaluate_model import test_fields  # noqa: E402

from diffuseradio import DiffuseDetector  # noqa: E402
from diffuseradio.training.metrics import object_coverage  # noqa: E402

HALF = 64


def missed(detector, seed, count):
    """``(integrated S/N, field, object row, island labels, island scores)`` of each
    missed diffuse source with integrated S/N >= 8."""
    rows = []
    for _, _, field in test_fields([detector.card], [seed], [count]):
        labels, scores, detections, _ = stages(detector, field)
        for row, covered in zip(field.objects, object_coverage(detections, field)):
            if row["class_id"] > 0 and row["detectable"] and row["integrated_snr"] >= 8:
                if covered < COVERAGE:
                    rows.append((row["integrated_snr"], field, row, labels, scores))
    return sorted(rows, key=lambda item: -item[0])


def box(field, ident):
    """Slices of a square around an object's region."""
    y, x = np.argwhere(field.instances == ident).mean(axis=0).astype(int)
    return slice(max(y - HALF, 0), y + HALF), slice(max(x - HALF, 0), x + HALF)


def plot_row(axes, field, row, labels, scores):
    window = box(field, row["id"])
    snr = field.mosaic.data[window] / field.rms_map[window]
    axes[0].imshow(snr, origin="lower", vmin=-3, vmax=30, cmap="inferno")
    axes[0].set_ylabel(
        f"{row['kind']}, {row['flux_density'].value:.0f} mJy\n"
        f"S/N {row['integrated_snr']:.0f} (local {row['local_snr']:.0f})",
        fontsize=9,
    )
    axes[1].imshow(field.instances[window] % 20, origin="lower", cmap="tab20")
    axes[1].contour(field.truth[window] > 0, [0.5], colors="white", linewidths=0.8)
    axes[2].imshow(field.confusers[window], origin="lower", cmap="gray")
    island = labels[window]
    shown = axes[3].imshow(
        np.where(island > 0, scores[island], np.nan), origin="lower", vmin=0, vmax=1
    )
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return shown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lotss-diffuse-unet-2res@1.4.0")
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--fields", type=int, default=48)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--output", type=Path, default=Path("."))
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model, device="cpu")
    chosen = missed(detector, args.seed, args.fields)[: args.rows]
    fig, axes = plt.subplots(len(chosen), 4, figsize=(10, 2.6 * len(chosen)), squeeze=False)
    for ax, (_, field, row, labels, scores) in zip(axes, chosen):
        shown = plot_row(ax, field, row, labels, scores)
    titles = ('20" image / noise', "objects, diffuse truth", "radio galaxies, artefacts", "islands")
    for ax, title in zip(axes[0], titles):
        ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=axes[:, 3], shrink=0.6, label="classifier score")
    name = detector.card.name.removeprefix("lotss-diffuse-")
    path = args.output / f"missed_sources_{name}.png"
    fig.savefig(path, dpi=70, bbox_inches="tight")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
