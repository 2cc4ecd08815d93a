"""The shift benchmark: a model scored on skies unlike its training data, worst cell first.

A model measured on held-out fields of the simulator it was trained on
(:mod:`~diffuseradio.training.evaluate`) shows how well it learned that
simulator. Here each *cell* differs from the training data in one controlled
way, or is real data:

- **simulator shifts**: the training sky with one knob set where training
  never went (an elliptical beam, the native 6" image at 1.5" pixels,
  twice the radio galaxies, strong noise gradients, relics thinner than the
  working beam, many bright sources with calibration artefacts);
- **real backgrounds**: the real LoTSS images (real noise, compact sources,
  radio galaxies and artefacts) with halos and relics injected over a grid
  of sizes and flux densities (:func:`~diffuseradio.simulate.inject`), and
  the same images with nothing injected;
- **real sources**: the NVSS relic fields against the published relic
  outlines; A2744, RXC J1825, El Gordo and the Bullet cluster's halos;
- **real non-sources**: radio galaxies (FIRST, 3C 236, B1315+415, Fornax A)
  and LoTSS fields that hold no diffuse emission: no detection, or a clear
  refusal where the input is outside the model's range.

Every cell has a fixed seed. A source is *found* when detections cover at
least :data:`COVERAGE` of its region (its truth region, or the published
outline); a detection is *true* when at least :data:`COVERAGE` of it lies on
a diffuse source. Truth regions are where a source reaches the noise at the
resolution the model sees it (the working beam, or the image's own where
coarser): the simulator's truth maps, and for an injected source its
emission brought to the working grid. The headline is the **worst cell**: the lowest of the
completeness and purity figures over the cells.

The real images are not shipped with the package: the real cells read them
from a folder laid out as the project's ``shared/data/real`` (one folder per
image with its ``SOURCE.md``), and are skipped, with a note, where an image
is missing.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable
from tqdm.auto import tqdm

from .cells import COVERAGE, KINDS, SIZE_LABELS, BenchmarkCell, timed
from .real import (
    REAL_BACKGROUNDS,
    background_cells,
    known_sources,
    non_sources,
    nvss_relics,
    real_file,
)
from .simulated import SHIFTS, simulated_cell

__all__ = [
    "COVERAGE",
    "BenchmarkCell",
    "run_benchmark",
    "worst_cell",
    "benchmark_table",
    "breakdown_table",
    "SHIFTS",
    "REAL_BACKGROUNDS",
]


def worst_cell(cells):
    """The cell with the lowest :attr:`BenchmarkCell.score` (None if no cell scored)."""
    scored = [cell for cell in cells if np.isfinite(cell.score)]
    return min(scored, key=lambda cell: cell.score) if scored else None


def benchmark_table(cells):
    """The cells as a table, worst first (cells without a score last).

    Parameters
    ----------
    cells : list of BenchmarkCell

    Returns
    -------
    `~astropy.table.QTable`
        One row per cell: ``cell``, ``kind``, ``score``, ``completeness``,
        ``purity``, ``radio_galaxies_taken``, ``false_per_deg2`` (1/deg2),
        ``sources``, ``detections``, ``seconds``, ``note``, then for each
        kind and size bin of ``BenchmarkCell.by_kind`` and
        ``BenchmarkCell.by_size``: ``completeness_KIND`` and
        ``sources_KIND``, ``completeness_beams_SIZE`` and
        ``sources_beams_SIZE`` (``beams_100_300``, ``beams_over_300``; NaN
        and 0 where the cell holds none).
    """
    order = sorted(cells, key=lambda cell: (not np.isfinite(cell.score), cell.score))
    table = QTable(
        {
            "cell": [cell.name for cell in order],
            "kind": [cell.kind for cell in order],
            "score": [cell.score for cell in order],
            "completeness": [cell.completeness for cell in order],
            "purity": [cell.purity for cell in order],
            "radio_galaxies_taken": [cell.radio_galaxies_taken for cell in order],
            "false_per_deg2": [cell.false_per_deg2 for cell in order] / u.deg**2,
            "sources": [cell.sources for cell in order],
            "detections": [cell.detections for cell in order],
            "seconds": [cell.seconds for cell in order] * u.s,
            "note": [cell.note for cell in order],
        }
    )
    for group, keys, prefix in (("by_kind", KINDS, ""), ("by_size", SIZE_LABELS, "beams_")):
        for key in keys:
            counts = [getattr(cell, group).get(key, (0, 0)) for cell in order]
            name = prefix + key.replace("-", "_").replace(">", "over_")
            table[f"completeness_{name}"] = [found / n if n else np.nan for found, n in counts]
            table[f"completeness_{name}"].info.format = ".2f"
            table[f"sources_{name}"] = [n for _, n in counts]
    for column in ("score", "completeness", "purity", "radio_galaxies_taken"):
        table[column].info.format = ".2f"
    table["false_per_deg2"].info.format = ".1f"
    worst = worst_cell(cells)
    table.meta["worst_cell"] = None if worst is None else worst.name
    table.meta["worst_score"] = None if worst is None else float(worst.score)
    table.meta["coverage"] = COVERAGE
    return table


def breakdown_table(cells):
    """Sources found over counted, per kind and per size bin, one row per cell.

    Parameters
    ----------
    cells : list of BenchmarkCell

    Returns
    -------
    `~astropy.table.Table`
        ``cell`` then one text column per kind and per size bin (in working
        beams) that any cell holds, ``"found/counted"`` (``"--"`` where the
        cell holds none), in the order of :func:`benchmark_table`.
    """
    from astropy.table import Table

    order = sorted(cells, key=lambda cell: (not np.isfinite(cell.score), cell.score))
    table = Table({"cell": [cell.name for cell in order]})
    for group, keys, suffix in (("by_kind", KINDS, ""), ("by_size", SIZE_LABELS, " beams")):
        for key in keys:
            counts = [getattr(cell, group).get(key) for cell in order]
            if any(counts):
                table[key + suffix] = [f"{c[0]}/{c[1]}" if c else "--" for c in counts]
    return table


def run_benchmark(detector, *, real_data=None, quick=False, augment=False, progress=True):
    """Score a model on every cell of the shift benchmark.

    Parameters
    ----------
    detector : `~diffuseradio.DiffuseDetector`
        The model; its card must hold its training configuration (the
        simulated cells start from its training sky).
    real_data : str or os.PathLike, optional
        Folder of the real images (laid out as the project's
        ``shared/data/real``); without it the real cells are skipped.
    quick : bool, optional
        A few fields and injections per cell: checks the harness in a
        couple of minutes, not the model.
    augment : bool, optional
        Test-time augmentation (off, as ``detect`` by default).
    progress : bool, optional

    Returns
    -------
    list of BenchmarkCell
    """
    scale = _Scale(quick)
    cells = []
    for name, changes in tqdm(SHIFTS.items(), disable=not progress, desc="simulator shifts"):
        cells.append(timed(simulated_cell, detector, name, changes, scale, augment))
    folder = None if real_data is None else Path(real_data)
    for name, where in tqdm(REAL_BACKGROUNDS.items(), disable=not progress, desc="backgrounds"):
        path = real_file(folder, *where)
        cells.extend(background_cells(detector, name, path, scale, augment))
    cells.append(timed(nvss_relics, detector, folder, scale, augment))
    cells.append(timed(known_sources, detector, folder, augment))
    cells.append(timed(non_sources, detector, folder, augment))
    return cells


class _Scale:
    """How much of each cell to run."""

    def __init__(self, quick):
        self.fields = 2 if quick else 24
        self.field_size = 256 if quick else 512
        self.sizes = (40.0,) if quick else (20.0, 40.0, 80.0)
        self.snr = (30.0,) if quick else (6.0, 12.0, 24.0, 48.0)
        self.repeats = 1 if quick else 4
        self.nvss_fields = 3 if quick else None
