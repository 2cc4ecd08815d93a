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
a diffuse source. The headline is the **worst cell**: the lowest of the
completeness and purity figures over the cells.

The real images are not shipped with the package: the real cells read them
from a folder laid out as the project's ``shared/data/real`` (one folder per
image with its ``SOURCE.md``), and are skipped, with a note, where an image
is missing.
"""

import csv
import dataclasses
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from radio_beam import Beam
from tqdm.auto import tqdm

from ..exceptions import DiffuseRadioError, DiffuseRadioWarning
from ..mosaic import SurveyMosaic
from ..mosaic.regrid import pixel_average
from ..postprocess import segment
from ..simulate import RadioHalo, RadioRelic, SkySimulator, inject
from .config import TrainingConfig
from .metrics import ObjectCounts, object_counts

__all__ = ["COVERAGE", "BenchmarkCell", "run_benchmark", "worst_cell", "benchmark_table"]

#: Fraction of a source's region that detections must cover for it to be
#: found, and of a detection that must lie on a diffuse source for it to be true.
COVERAGE = 0.2

#: Real LoTSS images used as backgrounds: folder and file under the real-data folder.
REAL_BACKGROUNDS = {
    "LoTSS-DR1 P205+55": ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits"),
    "LoTSS-DR1 P218+55": ("lotss_dr1_P218+55_field", "LoTSS_DR1_P218+55_cutout_200px.fits"),
    "LoTSS-DR2 B1315+415": (
        "lotss_dr2_B1315+415_radiogalaxy",
        "LoTSS_DR2_B1315+415_P198+42_cutout.fits",
    ),
}

#: Smallest side, in working beams, of a background that sources are injected into
#: (a smaller cut-out is mostly the injected source: its noise cannot be measured).
MIN_BACKGROUND_BEAMS = 10


#: Known diffuse sources: image and sky position of the emission (ICRS degrees).
REAL_SOURCES = {
    "A2744 halo (VLA 1.5 GHz)": ("vla_A2744_halo", "A2744_JVLA.image.fits", (3.5833, -30.3833)),
    "RXC J1825 halo (LOFAR 60 arcsec)": (
        "lofar_RXCJ1825_halo",
        "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
        (276.34, 30.44),
    ),
    "El Gordo halo (MeerKAT)": (
        "meerkat_ElGordo_diffuse",
        "ElGordo_hres_sync_blanked.fits",
        (15.7286, -49.2609),
    ),
    "Bullet cluster halo (MeerKAT)": (
        "meerkat_bullet_halo_relic",
        "bullet_cluster_centre.fits",
        (104.6295, -55.9470),
    ),
}

#: Radius around a known source's position within which a detection finds it.
SOURCE_RADIUS = 1.0 * u.arcmin

#: Images that hold no diffuse emission: folder and file (``*`` for every FITS file).
REAL_NON_SOURCES = {
    "FIRST radio galaxies": ("first_rgc_radio_galaxies", "*"),
    "FIRST RGZ J124646+224554": ("first_rgz_J124646+224554", "*"),
    "3C 236 (WSRT)": ("wsrt_3C236_grg", "*"),
    "B1315+415 (LoTSS-DR2)": REAL_BACKGROUNDS["LoTSS-DR2 B1315+415"],
    "Fornax A (VLA 1.5 GHz)": ("vla_fornaxA_1p5GHz", "*"),
    "Fornax A (MWA 185 MHz)": ("mwa_fornaxA_185MHz", "*"),
    "LoTSS-DR1 fields": ("lotss_dr1_P2*_field", "*"),
}


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

    @property
    def score(self):
        """The lower of completeness and purity (NaN when neither is defined)."""
        values = [v for v in (self.completeness, self.purity) if np.isfinite(v)]
        return min(values) if values else np.nan


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
        ``sources``, ``detections``, ``seconds``, ``note``.
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
    for column in ("score", "completeness", "purity", "radio_galaxies_taken"):
        table[column].info.format = ".2f"
    table["false_per_deg2"].info.format = ".1f"
    worst = worst_cell(cells)
    table.meta["worst_cell"] = None if worst is None else worst.name
    table.meta["worst_score"] = None if worst is None else float(worst.score)
    table.meta["coverage"] = COVERAGE
    return table


def run_benchmark(detector, *, real_data=None, quick=False, augment=True, progress=True):
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
        Test-time augmentation, as ``detect`` does by default.
    progress : bool, optional

    Returns
    -------
    list of BenchmarkCell
    """
    scale = _Scale(quick)
    cells = []
    for name, changes in tqdm(SHIFTS.items(), disable=not progress, desc="simulator shifts"):
        cells.append(_timed(_simulated_cell, detector, name, changes, scale, augment))
    folder = None if real_data is None else Path(real_data)
    for name, where in tqdm(REAL_BACKGROUNDS.items(), disable=not progress, desc="backgrounds"):
        path = _real_file(folder, *where)
        cells.extend(_background_cells(detector, name, path, scale, augment))
    cells.append(_timed(_nvss_relics, detector, folder, scale, augment))
    cells.append(_timed(_known_sources, detector, folder, augment))
    cells.append(_timed(_non_sources, detector, folder, augment))
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


def _timed(function, *args):
    start = time.perf_counter()
    cell = function(*args)
    return dataclasses.replace(cell, seconds=round(time.perf_counter() - start, 1))


# ----------------------------------------------------------- simulator shifts

#: Each simulator shift: changes to the training sky (SkySimulator keywords and
#: population settings; ``beam``, ``native`` are handled apart).
SHIFTS = {
    "simulator: training sky (upper bound)": {},
    "elliptical beam (axis ratio 1.6)": {"beam": Beam(20 * u.arcsec, 12.5 * u.arcsec, 30 * u.deg)},
    "6-arcsec image at 1.5-arcsec pixels (same noise at 20 arcsec)": {"native": 6.0},
    "radio galaxies twice as dense": {"radio_galaxy_density": 30.0 / u.deg**2},
    "strong noise gradients": {"rms_variation": 0.5},
    "relics thinner than the working beam": {"relic_width": (10.0, 30.0) * u.kpc},
    "bright sources with artefacts everywhere": {"artefact_snr": 150.0},
}


def _simulated_cell(detector, name, changes, scale, augment):
    card = detector.card
    config = TrainingConfig.from_dict(card.training["config"])
    changes = dict(changes)
    beam = changes.pop("beam", card.beam)
    native = changes.pop("native", None)
    rms = np.sqrt(np.prod(config.data.rms_ujy)) * u.uJy / u.beam
    settings = {**config.data.validation_settings, **changes}
    alone = native is not None
    if alone:
        # Native noise such that the native image convolved to the working beam
        # has the field's noise: the same sky and S/N, only the input made from
        # a 6" image (a 6" image of a real survey is noisier than that).
        ratio = float(native * u.arcsec / card.beam.major)
        settings.update(native_beam=native * u.arcsec, native_oversample=4, native_rms=rms * ratio)
    elif card.native_beam is not None:  # a two-channel model's 6" image, as it trained
        native_rms = np.sqrt(np.prod(config.data.native_rms_ujy)) * u.uJy / u.beam
        settings.update(
            native_beam=card.native_beam,
            native_oversample=config.data.native_oversample,
            native_rms=native_rms,
        )
    simulator = SkySimulator(
        scale.field_size, card.pixel_scale, beam, rms, seed=_seed(name), **settings
    )
    counts = ObjectCounts()
    for index in range(scale.fields):
        field = simulator.field(index)
        if not alone:  # the 20" image (and the 6" one for a two-channel model)
            two = card.native_beam is not None
            probability = detector.predict(
                field.mosaic, native=field.native if two else None, augment=augment
            )
        else:  # as a user with the 6" mosaic only: the detector makes its 20" input
            on_native = detector.predict(field.native, augment=augment)
            native_map = SurveyMosaic(on_native, field.native.wcs, beam=field.native.beam)
            probability = pixel_average(native_map, field.mosaic).data
        counts += object_counts(_labels(detector.card, probability, field.mosaic), field)
    summary = _summary(counts)
    area = scale.fields * _area_deg2(field.mosaic)
    true, detections = counts.headline_counts()["purity"]
    return _cell(
        name,
        "simulator shift",
        sources=summary["n_diffuse_objects_snr_ge_8"],
        completeness=summary["completeness_snr_ge_8"],
        purity=summary["purity"],
        radio_galaxies_taken=summary["radio_galaxy_false_positive_rate"],
        false_per_deg2=(detections - true) / area,
        detections=detections,
        note=f"{scale.fields} fields of {scale.field_size}^2 at the working grid",
    )


def _summary(counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = counts.summary()
    summary["n_diffuse_objects_snr_ge_8"] = counts.headline_counts()["completeness_snr_ge_8"][1]
    return summary


def _seed(name):
    """A fixed seed per cell, from its name."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (2**31)


def _labels(card, probability, mosaic):
    """The card's operating point on a probability map on ``mosaic``'s grid."""
    beam_pixels = float(card.beam.sr / mosaic.pixel_scale**2)
    return segment(
        probability,
        card.threshold,
        min_area=card.min_area_beams * beam_pixels,
        low_threshold=card.low_threshold,
    )


def _area_deg2(mosaic):
    finite = sum(
        int(np.isfinite(mosaic.data[start : start + 512]).sum())
        for start in range(0, mosaic.shape[0], 512)
    )
    return finite * mosaic.pixel_scale.to_value(u.deg) ** 2


# ----------------------------------------------------------- real backgrounds


def _real_file(folder, subfolder, pattern):
    """The first FITS file of ``folder/subfolder`` matching ``pattern``, or None."""
    if folder is None:
        return None
    matches = sorted(folder.glob(f"{subfolder}/{pattern}"))
    matches = [path for path in matches if path.suffix.lower() in (".fits", ".fit")]
    return matches[0] if matches else None


def _cell(name, kind, **figures):
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


def _skipped(name, kind, why):
    return _cell(name, kind, note=f"skipped: {why}")


def _background_cells(detector, name, path, scale, augment):
    kind = "real background"
    injected = f"{name}: halos and relics injected"
    if path is None:
        why = "image not found (give the real-data folder)"
        return [_skipped(f"{name}: nothing injected", kind, why), _skipped(injected, kind, why)]
    mosaic = SurveyMosaic.read(path)
    start = time.perf_counter()
    labels = detector.detect(mosaic, augment=augment).segmentation
    empty = _count_labels(labels)
    blank = _cell(
        f"{name}: nothing injected",
        kind,
        sources=0,
        purity=np.nan if empty == 0 else 0.0,
        false_per_deg2=empty / _area_deg2(mosaic),
        detections=empty,
        seconds=round(time.perf_counter() - start, 1),
        note=f"{mosaic.shape[1]}x{mosaic.shape[0]} pixels of real sky",
    )
    side = min(mosaic.shape) * mosaic.pixel_scale
    if side < MIN_BACKGROUND_BEAMS * detector.card.beam.major:
        why = f"{side.to(u.arcmin):.1f} across: under {MIN_BACKGROUND_BEAMS} working beams"
        return [blank, _skipped(injected, kind, why)]
    return [blank, _timed(_injected_cell, detector, name, mosaic, scale, augment)]


def _count_labels(labels):
    return int(np.count_nonzero(np.bincount(labels.ravel())[1:]))


def _injected_cell(detector, name, mosaic, scale, augment):
    """Halos and relics injected one at a time over a grid of sizes and flux densities."""
    rng = np.random.default_rng(_seed(name))
    rms = mosaic.rms
    found = total = true = detections = false = 0
    area = 0.0
    grid = [(size, snr) for size in scale.sizes for snr in scale.snr] * scale.repeats
    for size, snr in grid:
        for component, extent in _components(size, snr, rms, mosaic, rng):
            position = _position(mosaic, extent, rng)
            if position is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DiffuseRadioWarning)
                injected, truth = inject(mosaic, component, position)
                labels = detector.detect(injected, augment=augment).segmentation
            region = truth > 0
            area += _area_deg2(mosaic)
            if _integrated_snr(injected, mosaic, region) >= 8:
                total += 1
                found += _covered(labels, region) >= COVERAGE
            for label in range(1, int(labels.max()) + 1):
                inside = labels == label
                if not inside.any():
                    continue
                detections += 1
                on_source = region[inside].mean() >= COVERAGE
                true += on_source
                false += not on_source
    return _cell(
        f"{name}: halos and relics injected",
        "real background",
        sources=total,
        completeness=found / total if total else np.nan,
        purity=true / detections if detections else np.nan,
        false_per_deg2=false / area if area else np.nan,
        detections=detections,
        note=f"one source at a time; sizes {scale.sizes} arcsec, S/N targets {scale.snr}, "
        f"{scale.repeats} positions each",
    )


def _components(size, snr, rms, mosaic, rng):
    """A halo (e-folding radius ``size``) and a relic (length ``4 size``) near ``snr``.

    Each with how far it reaches (arcsec). The flux density is that of emission
    spread evenly over the source's area at an integrated S/N of ``2 snr``
    (the outskirts below the noise hold part of it); the S/N counted is the
    one measured after injection.
    """
    beam_area = float(mosaic.beam.sr.to_value(u.arcsec**2))
    halo_beams = np.pi * (2 * size) ** 2 / beam_area
    relic_beams = 4 * size * max(size / 4, mosaic.beam.major.to_value(u.arcsec)) / beam_area
    rms_jy = rms.to_value(u.Jy / u.beam)
    halo = RadioHalo(
        snr * rms_jy * np.sqrt(halo_beams) * 2 * u.Jy,
        e_folding_radius=size * u.arcsec,
        seed=int(rng.integers(2**31)),
    )
    relic = RadioRelic(
        snr * rms_jy * np.sqrt(relic_beams) * 2 * u.Jy,
        length=4 * size * u.arcsec,
        width=max(size / 4, 8.0) * u.arcsec,
        seed=int(rng.integers(2**31)),
    )
    return [(halo, 3 * size), (relic, 2 * size)]


def _position(mosaic, extent, rng):
    """A random sky position at least ``extent`` arcsec inside the image, or None."""
    margin = extent / mosaic.pixel_scale.to_value(u.arcsec)
    ny, nx = mosaic.shape
    if 2 * margin >= min(ny, nx) - 8:
        return None
    x = rng.uniform(margin, nx - 1 - margin)
    y = rng.uniform(margin, ny - 1 - margin)
    return mosaic.wcs.pixel_to_world(x, y)


def _integrated_snr(injected, background, region):
    """``S_region / (rms sqrt(N_beams))`` of the injected emission over its truth region."""
    if not region.any():
        return 0.0
    added = np.asarray(injected.data, float)[region] - np.asarray(background.data, float)[region]
    flux = np.nansum(added) / background.beam_area_pixels
    beams = region.sum() / background.beam_area_pixels
    return float(flux / (background.rms.to_value(u.Jy / u.beam) * np.sqrt(max(beams, 1.0))))


def _covered(labels, region):
    return float((labels[region] > 0).mean()) if region.any() else 0.0


# ----------------------------------------------------------- real sources


def _nvss_relics(detector, folder, scale, augment):
    """Relic recall against the published relic outlines of the NVSS relic fields.

    The outlines are the polygons of each field's first region file (its
    circles mark the cluster and excluded sources). Detections off the
    outlines are counted, not called false: several fields hold a halo too.
    A field the model refuses is reported, not counted.
    """
    name, kind = "NVSS relic fields (published outlines)", "real sources"
    root = None if folder is None else folder / "nvss_relic_clusters"
    manifest = None if root is None else root / "manifest.csv"
    if manifest is None or not manifest.is_file():
        return _skipped(name, kind, "nvss_relic_clusters not found")
    with open(manifest, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["relic_region_files"].strip()]
    rows = rows[: scale.nvss_fields]
    found = total = fields_found = detections = off = 0
    refused = []
    for row in rows:
        mosaic = SurveyMosaic.read(root / "images" / row["file"])
        region_file = root / "regions" / row["relic_region_files"].split(";")[0].strip()
        try:
            labels = detector.detect(mosaic, augment=augment).segmentation
        except DiffuseRadioError as err:
            refused.append(f"{row['object']}: {err}")
            continue
        relics = _relic_masks(region_file, mosaic)
        hits = [_covered(labels, relic) >= COVERAGE for relic in relics]
        total += len(relics)
        found += sum(hits)
        fields_found += any(hits)
        on_relics = np.any(relics, axis=0) if relics else np.zeros(mosaic.shape, bool)
        for label in range(1, int(labels.max()) + 1):
            inside = labels == label
            if inside.any():
                detections += 1
                off += on_relics[inside].mean() < COVERAGE
    note = f"a relic found in {fields_found} of {len(rows)} fields; {off} detections off outlines"
    if refused:
        note += f"; refused: {'; '.join(refused)}"
    return _cell(
        name,
        kind,
        sources=total,
        completeness=found / total if total else np.nan,
        detections=detections,
        note=note,
    )


def _relic_masks(path, mosaic):
    """One boolean map per relic outline (polygon) of a region file that falls on the image."""
    from regions import PolygonSkyRegion

    masks = []
    for shape in _outlines(path):
        if not isinstance(shape, PolygonSkyRegion):
            continue
        mask = shape.to_pixel(mosaic.wcs).to_mask(mode="center").to_image(mosaic.shape)
        if mask is not None and mask.any():
            masks.append(mask > 0)
    return masks


def _outlines(path):
    """The shapes of a DS9 region file, without their display properties.

    Published region files carry hand-written properties (``# color=...``,
    sometimes misspelt); only the shapes are needed here.
    """
    from regions import Regions

    lines = [
        line.split("#")[0].strip() if not line.lstrip().startswith("#") else ""
        for line in Path(path).read_text().splitlines()
    ]
    text = "\n".join(line for line in lines if line and not line.startswith("global"))
    return Regions.parse(text, format="ds9")


def _known_sources(detector, folder, augment):
    """Known halos found: a detection within :data:`SOURCE_RADIUS` of their position.

    An image the model refuses (its beam outside the model's range) is
    reported, not counted.
    """
    name, kind = "known radio halos (A2744, RXC J1825, El Gordo, Bullet)", "real sources"
    found, seen, missed, refused = 0, 0, [], []
    for source, (subfolder, filename, (ra, dec)) in REAL_SOURCES.items():
        path = _real_file(folder, subfolder, filename)
        if path is None:
            continue
        mosaic = SurveyMosaic.read(path)
        try:
            labels = detector.detect(mosaic, augment=augment).segmentation
        except DiffuseRadioError as err:
            refused.append(f"{source} ({err})")
            continue
        seen += 1
        if _near(labels, mosaic, SkyCoord(ra, dec, unit="deg")):
            found += 1
        else:
            missed.append(source)
    if not seen and not refused:
        return _skipped(name, kind, "no image found")
    notes = ["missed: " + ", ".join(missed) if missed else "all found"]
    if refused:
        notes.append("refused: " + "; ".join(refused))
    return _cell(
        name,
        kind,
        sources=seen,
        completeness=found / seen if seen else np.nan,
        detections=found,
        note="; ".join(notes),
    )


def _near(labels, mosaic, position):
    """Whether a detection lies within :data:`SOURCE_RADIUS` of ``position``."""
    x, y = (float(v) for v in mosaic.wcs.world_to_pixel(position))
    radius = float(SOURCE_RADIUS / mosaic.pixel_scale)
    yy, xx = np.ogrid[: mosaic.shape[0], : mosaic.shape[1]]
    return bool((labels[(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] > 0).any())


def _non_sources(detector, folder, augment):
    """Images that hold no diffuse emission: no detection, or a clear refusal."""
    name, kind = "radio galaxies and empty fields (no diffuse emission)", "real non-sources"
    clean, images, taken, area = 0, 0, [], 0.0
    detections = 0
    for source, (subfolder, pattern) in REAL_NON_SOURCES.items():
        paths = [] if folder is None else sorted(folder.glob(f"{subfolder}/{pattern}"))
        for path in [p for p in paths if p.suffix.lower() in (".fits", ".fit")]:
            images += 1
            try:
                mosaic = SurveyMosaic.read(path)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DiffuseRadioWarning)
                    labels = detector.detect(mosaic, augment=augment).segmentation
            except DiffuseRadioError:
                clean += 1  # a clear refusal is a right answer here
                continue
            count = _count_labels(labels)
            area += _area_deg2(mosaic)
            detections += count
            clean += count == 0
            if count:
                taken.append(f"{source} ({path.name})")
    if not images:
        return _skipped(name, kind, "no image found")
    return _cell(
        name,
        kind,
        sources=images,
        purity=clean / images,
        false_per_deg2=detections / area if area else np.nan,
        detections=detections,
        note="taken: " + ", ".join(taken) if taken else "none taken",
    )
