"""The cells of the shift benchmark: their figures, and the counting rules they share."""

import dataclasses
import time

import astropy.units as u
import numpy as np

from ...postprocess import segment
from ..metrics import SIZE_BINS

__all__ = [
    "COVERAGE",
    "KINDS",
    "SIZE_LABELS",
    "BenchmarkCell",
    "Tally",
    "cell",
    "skipped",
    "timed",
    "cell_seed",
    "card_labels",
    "area_deg2",
    "count_labels",
    "covered",
]


#: Fraction of a source's region that detections must cover for it to be
#: found, and of a detection that must lie on a diffuse source for it to be true.
COVERAGE = 0.2


#: Kinds of diffuse source whose completeness each cell reports separately.
KINDS = ("halo", "minihalo", "relic", "bridge", "filament")

#: Names of the size bins (area in working beams, the edges of
#: :data:`~diffuseradio.training.metrics.SIZE_BINS`).
SIZE_LABELS = tuple(
    f"{low:g}-{high:g}" if np.isfinite(high) else f">{low:g}"
    for low, high in zip(SIZE_BINS[:-1], SIZE_BINS[1:])
)


@dataclasses.dataclass(frozen=True)
class BenchmarkCell:
    """The figures of one cell of the shift benchmark.

    Attributes
    ----------
    name : str
    kind : str
        ``"simulator shift"``, ``"real background"``, ``"real sources"`` or
        ``"real non-sources"``.
    sources : int
        Diffuse sources counted (S/N >= 8 where the S/N is known), or images
        for the non-source cells.
    completeness : float
        Fraction of them found (NaN when there are none).
    purity : float
        Fraction of detections that are true; for the non-source cells the
        fraction of images with no detection (NaN when nothing was detected).
    radio_galaxies_taken : float
        Fraction of the simulated radio galaxies taken for diffuse emission
        (simulated cells only; NaN elsewhere).
    false_per_deg2 : float
        False detections per square degree of sky searched.
    detections : int
    seconds : float
        Time the cell took.
    note : str
        What the cell holds, or why it was skipped.
    by_kind : dict
        ``{kind: (found, counted)}`` for the kinds the cell holds
        (``"halo"``, ``"minihalo"``, ``"relic"``, ``"bridge"``,
        ``"filament"``), over the sources of ``completeness``.
    by_size : dict
        ``{size: (found, counted)}`` per bin of area in working beams
        (``"0-10"``, ``"10-30"``, ``"30-100"``, ``"100-300"``, ``">300"``),
        where sizes are known.
    """

    name: str
    kind: str
    sources: int
    completeness: float
    purity: float
    radio_galaxies_taken: float
    false_per_deg2: float
    detections: int
    seconds: float
    note: str = ""
    by_kind: dict = dataclasses.field(default_factory=dict)
    by_size: dict = dataclasses.field(default_factory=dict)

    @property
    def score(self):
        """The lower of completeness and purity (NaN when neither is defined)."""
        values = [v for v in (self.completeness, self.purity) if np.isfinite(v)]
        return min(values) if values else np.nan


class Tally:
    """Sources found and counted, in total, per kind and per size bin.

    Examples
    --------
    >>> tally = Tally()
    >>> tally.add("halo", 45.0, True)
    >>> tally.add("relic", 12.0, False)
    >>> tally.add("halo", None, False)  # size unknown
    >>> tally.found, tally.total, tally.by_kind, tally.by_size
    (1, 3, {'halo': (1, 2), 'relic': (0, 1)}, {'10-30': (0, 1), '30-100': (1, 1)})
    """

    def __init__(self):
        self.found = 0
        self.total = 0
        self.by_kind = {}
        self._by_size = {}

    @property
    def by_size(self):
        """``{size bin: (found, counted)}``, smallest sizes first."""
        return {label: self._by_size[label] for label in SIZE_LABELS if label in self._by_size}

    def add(self, kind, beams, found):
        """Count one source of ``kind`` covering ``beams`` working beams (None: unknown)."""
        self.found += bool(found)
        self.total += 1
        _count(self.by_kind, kind, found)
        if beams is not None:
            index = int(np.searchsorted(SIZE_BINS, beams, side="right")) - 1
            _count(self._by_size, SIZE_LABELS[min(index, len(SIZE_LABELS) - 1)], found)

    @property
    def completeness(self):
        """Fraction found (NaN when nothing was counted)."""
        return self.found / self.total if self.total else np.nan


def _count(counts, key, found):
    done, seen = counts.get(key, (0, 0))
    counts[key] = (done + bool(found), seen + 1)


def timed(function, *args):
    """``function(*args)``, a cell, with the seconds it took."""
    start = time.perf_counter()
    cell = function(*args)
    return dataclasses.replace(cell, seconds=round(time.perf_counter() - start, 1))


def cell_seed(name):
    """A fixed seed per cell, from its name."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (2**31)


def card_labels(card, probability, mosaic):
    """The card's operating point on a probability map on ``mosaic``'s grid."""
    beam_pixels = float(card.beam.sr / mosaic.pixel_scale**2)
    return segment(
        probability,
        card.threshold,
        min_area=card.min_area_beams * beam_pixels,
        low_threshold=card.low_threshold,
    )


def area_deg2(mosaic):
    """Unblanked sky of an image, square degrees (read a strip at a time)."""
    finite = sum(
        int(np.isfinite(mosaic.data[start : start + 512]).sum())
        for start in range(0, mosaic.shape[0], 512)
    )
    return finite * mosaic.pixel_scale.to_value(u.deg) ** 2


def cell(name, kind, **figures):
    """A :class:`BenchmarkCell`; the figures not given are NaN (0 for the counts)."""
    nan = np.nan
    defaults = {
        "sources": 0,
        "completeness": nan,
        "purity": nan,
        "radio_galaxies_taken": nan,
        "false_per_deg2": nan,
        "detections": 0,
        "seconds": 0.0,
        "note": "",
    }
    return BenchmarkCell(name=name, kind=kind, **{**defaults, **figures})


def skipped(name, kind, why):
    """A cell that could not run, and why."""
    return cell(name, kind, note=f"skipped: {why}")


def count_labels(labels):
    """How many detections a label map holds."""
    return int(np.count_nonzero(np.bincount(labels.ravel())[1:]))


def covered(labels, region):
    """The fraction of ``region`` that detections cover (0 for an empty region)."""
    return float((labels[region] > 0).mean()) if region.any() else 0.0
