"""Real cells of the shift benchmark: real LoTSS backgrounds, real sources and non-sources.

The real images are read from a folder laid out as the project's
``shared/data/real``; a cell whose images are missing is skipped, with a note.
"""

import csv
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from ...exceptions import DiffuseRadioError, DiffuseRadioWarning
from ...mosaic import SurveyMosaic
from ...postprocess import on_input_pixels
from ...preprocess import working_mosaic
from ...simulate import RadioHalo, RadioRelic, inject
from .cells import (
    COVERAGE,
    Tally,
    area_deg2,
    cell,
    cell_seed,
    count_labels,
    covered,
    skipped,
    timed,
)

__all__ = [
    "REAL_BACKGROUNDS",
    "MIN_BACKGROUND_BEAMS",
    "REAL_SOURCES",
    "SOURCE_RADIUS",
    "REAL_NON_SOURCES",
    "real_file",
    "background_cells",
    "nvss_relics",
    "known_sources",
    "non_sources",
]


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


def real_file(folder, subfolder, pattern):
    """The first FITS file of ``folder/subfolder`` matching ``pattern``, or None."""
    if folder is None:
        return None
    matches = sorted(folder.glob(f"{subfolder}/{pattern}"))
    matches = [path for path in matches if path.suffix.lower() in (".fits", ".fit")]
    return matches[0] if matches else None


def background_cells(detector, name, path, scale, augment):
    kind = "real background"
    injected = f"{name}: halos and relics injected"
    if path is None:
        why = "image not found (give the real-data folder)"
        return [skipped(f"{name}: nothing injected", kind, why), skipped(injected, kind, why)]
    mosaic = SurveyMosaic.read(path)
    start = time.perf_counter()
    labels = detector.detect(mosaic, augment=augment).segmentation
    empty = count_labels(labels)
    blank = cell(
        f"{name}: nothing injected",
        kind,
        sources=0,
        purity=np.nan if empty == 0 else 0.0,
        false_per_deg2=empty / area_deg2(mosaic),
        detections=empty,
        seconds=round(time.perf_counter() - start, 1),
        note=f"{mosaic.shape[1]}x{mosaic.shape[0]} pixels of real sky",
    )
    side = min(mosaic.shape) * mosaic.pixel_scale
    if side < MIN_BACKGROUND_BEAMS * detector.card.beam.major:
        why = f"{side.to(u.arcmin):.1f} across: under {MIN_BACKGROUND_BEAMS} working beams"
        return [blank, skipped(injected, kind, why)]
    return [blank, timed(_injected_cell, detector, name, mosaic, scale, augment)]


def _injected_cell(detector, name, mosaic, scale, augment):
    """Halos and relics injected one at a time over a grid of sizes and flux densities."""
    rng = np.random.default_rng(cell_seed(name))
    rms = mosaic.rms
    working_rms = working_mosaic(detector.card, mosaic).rms
    beam_pixels = _working_beam_pixels(detector.card, mosaic)
    tally = Tally()
    true = detections = false = injections = 0
    grid = [(size, snr) for size in scale.sizes for snr in scale.snr] * scale.repeats
    for size, snr in grid:
        components = _components(size, snr, rms, mosaic, rng)
        for kind, (component, extent) in zip(("halo", "relic"), components):
            position = _position(mosaic, extent, rng)
            if position is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DiffuseRadioWarning)
                injected, truth = inject(mosaic, component, position)
                labels = detector.detect(injected, augment=augment).segmentation
            region = _seen_region(detector.card, injected, mosaic, working_rms)
            injections += 1
            if _integrated_snr(injected, mosaic, truth > 0) >= 8:
                found = covered(labels, region) >= COVERAGE
                tally.add(kind, region.sum() / beam_pixels, found)
            for label in range(1, int(labels.max()) + 1):
                inside = labels == label
                if not inside.any():
                    continue
                detections += 1
                on_source = region[inside].mean() >= COVERAGE
                true += on_source
                false += not on_source
    return cell(
        f"{name}: halos and relics injected",
        "real background",
        sources=tally.total,
        completeness=tally.completeness,
        purity=true / detections if detections else np.nan,
        false_per_deg2=false / (injections * area_deg2(mosaic)) if injections else np.nan,
        detections=detections,
        note=f"one source at a time; sizes {scale.sizes} arcsec, S/N targets {scale.snr}, "
        f"{scale.repeats} positions each",
        by_kind=tally.by_kind,
        by_size=tally.by_size,
    )


def _seen_region(card, injected, background, working_rms):
    """Where the injected emission reaches the noise at the resolution the model sees.

    The injected emission alone, brought to the card's working grid as the
    detector brings an image, at least ``working_rms`` there; on the
    image's pixels. As the simulator's truth maps (``truth_threshold`` 1 at
    the working beam): a 20" detection of a source injected into a 6"
    image reaches further than the source reaches above the 6" noise.
    """
    added = np.asarray(injected.data, np.float32) - np.asarray(background.data, np.float32)
    emission = working_mosaic(card, SurveyMosaic(added, background.wcs, beam=background.beam))
    seen = (np.asarray(emission.data) >= working_rms.to_value(u.Jy / u.beam)).astype(np.float32)
    return on_input_pixels(seen, emission, background) > 0.5


def _working_beam_pixels(card, mosaic):
    """The area, in the image's pixels, of the beam the model sees the image at.

    The card's working beam, or the image's own where it is coarser (see
    :func:`~diffuseradio.preprocess.working_grid`).
    """
    beam = card.beam if mosaic.beam.major <= card.beam.major else mosaic.beam
    return float(beam.sr / mosaic.pixel_scale**2)


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


def nvss_relics(detector, folder, scale, augment):
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
        return skipped(name, kind, "nvss_relic_clusters not found")
    with open(manifest, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["relic_region_files"].strip()]
    rows = rows[: scale.nvss_fields]
    tally = Tally()
    fields_found = detections = off = 0
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
        hits = [covered(labels, relic) >= COVERAGE for relic in relics]
        beam_pixels = _working_beam_pixels(detector.card, mosaic)
        for relic, hit in zip(relics, hits):
            tally.add("relic", relic.sum() / beam_pixels, hit)
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
    return cell(
        name,
        kind,
        sources=tally.total,
        completeness=tally.completeness,
        detections=detections,
        note=note,
        by_kind=tally.by_kind,
        by_size=tally.by_size,
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


def known_sources(detector, folder, augment):
    """Known halos found: a detection within :data:`SOURCE_RADIUS` of their position.

    An image the model refuses (its beam outside the model's range) is
    reported, not counted.
    """
    name, kind = "known radio halos (A2744, RXC J1825, El Gordo, Bullet)", "real sources"
    tally, missed, refused = Tally(), [], []
    for source, (subfolder, filename, (ra, dec)) in REAL_SOURCES.items():
        path = real_file(folder, subfolder, filename)
        if path is None:
            continue
        mosaic = SurveyMosaic.read(path)
        try:
            labels = detector.detect(mosaic, augment=augment).segmentation
        except DiffuseRadioError as err:
            refused.append(f"{source} ({err})")
            continue
        found = _near(labels, mosaic, SkyCoord(ra, dec, unit="deg"))
        tally.add("halo", None, found)
        if not found:
            missed.append(source)
    if not tally.total and not refused:
        return skipped(name, kind, "no image found")
    notes = ["missed: " + ", ".join(missed) if missed else "all found"]
    if refused:
        notes.append("refused: " + "; ".join(refused))
    return cell(
        name,
        kind,
        sources=tally.total,
        completeness=tally.completeness,
        detections=tally.found,
        note="; ".join(notes),
        by_kind=tally.by_kind,
    )


def _near(labels, mosaic, position):
    """Whether a detection lies within :data:`SOURCE_RADIUS` of ``position``."""
    x, y = (float(v) for v in mosaic.wcs.world_to_pixel(position))
    radius = float(SOURCE_RADIUS / mosaic.pixel_scale)
    yy, xx = np.ogrid[: mosaic.shape[0], : mosaic.shape[1]]
    return bool((labels[(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] > 0).any())


def non_sources(detector, folder, augment):
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
            count = count_labels(labels)
            area += area_deg2(mosaic)
            detections += count
            clean += count == 0
            if count:
                taken.append(f"{source} ({path.name})")
    if not images:
        return skipped(name, kind, "no image found")
    return cell(
        name,
        kind,
        sources=images,
        purity=clean / images,
        false_per_deg2=detections / area if area else np.nan,
        detections=detections,
        note="taken: " + ", ".join(taken) if taken else "none taken",
    )
