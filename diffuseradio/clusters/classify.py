"""The cluster-mode run: find the covering mosaic, cut out, detect, score, measure.

How the score is defined is in :mod:`diffuseradio.clusters`.
"""

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.cosmology import Planck18
from astropy.table import QTable, Table, vstack
from scipy import ndimage

from ..exceptions import DiffuseRadioWarning
from ..mosaic import JY_PER_BEAM, SurveyMosaic
from ..mosaic.survey_mosaic import read_with_beam
from ..survey.parallel import connected_client, gather_as_completed
from .columns import CLUSTER_FLAGS, FAILED, NOISY, NOT_COVERED, PARTLY_BLANKED, read_clusters
from .physics import radio_power
from .report import read_done, write_cluster, write_summary

__all__ = ["classify_clusters", "detections_in_aperture"]

log = logging.getLogger(__name__)


_FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


def detections_in_aperture(
    catalog, centre, radius, *, r500=None, spectral_index=1.3, frequency=144 * u.MHz
):
    """Detections that overlap a circular aperture, with physical quantities.

    A detection belongs to the aperture when at least one of its pixels lies
    within ``radius`` of ``centre`` (so a relic reaching into the aperture
    counts even if its centroid lies outside).

    Parameters
    ----------
    catalog : `~diffuseradio.DetectionCatalog`
        Detections in one image; its ``redshift`` (None when unknown) and
        ``cosmology`` give the physical quantities.
    centre : `~astropy.coordinates.SkyCoord`
        Centre of the aperture (the cluster position).
    radius : `~astropy.units.Quantity`
        Angular radius of the aperture.
    r500 : `~astropy.units.Quantity`, optional
        Angular R500 of the cluster, for ``distance_r500``.
    spectral_index : float, optional
        For the k-correction of the radio power (see :func:`radio_power`).
    frequency : `~astropy.units.Quantity`, optional
        Frequency of the radio power; measurements are scaled from the
        image's frequency (taken as ``frequency`` when the image has none).

    Returns
    -------
    `~astropy.table.QTable`
        The catalogue's rows for these detections (pixel centroids left
        out), plus ``separation`` of the centroid from ``centre`` (arcmin),
        ``distance_r500`` (separation in units of R500),
        ``largest_linear_size`` (kpc) and ``radio_power`` at ``frequency``
        (W/Hz); NaN where the redshift or R500 is unknown.
    """
    table = catalog.table
    wanted = np.unique(catalog.segmentation[_aperture(catalog.mosaic, centre, radius)])
    rows = table[np.isin(table["id"], wanted[wanted > 0])]
    rows.remove_columns(["x_centroid", "y_centroid"])
    rows["sky_centroid"] = rows["sky_centroid"].icrs  # one frame for every image
    separation = rows["sky_centroid"].separation(centre).to(u.arcmin)
    rows["separation"] = separation
    r500 = np.nan * u.arcmin if r500 is None else u.Quantity(r500, u.arcmin)
    rows["distance_r500"] = (separation / r500).to_value(u.one)
    if "largest_linear_size" not in rows.colnames:
        rows["largest_linear_size"] = np.full(len(rows), np.nan) * u.kpc
    redshift = np.nan if catalog.redshift is None else catalog.redshift
    rows["radio_power"] = radio_power(
        rows["flux_density"],
        redshift,
        spectral_index=spectral_index,
        frequency=frequency,
        observed_frequency=catalog.mosaic.frequency,
        cosmology=catalog.cosmology,
    )
    return rows


def _aperture(mosaic, centre, radius):
    """Boolean map of the pixels whose centres lie within ``radius`` of ``centre``."""
    mask = np.zeros(mosaic.shape, dtype=bool)
    x, y = (float(v) for v in mosaic.wcs.world_to_pixel(centre))
    if not (np.isfinite(x) and np.isfinite(y)):
        return mask
    half = int(np.ceil((radius / mosaic.pixel_scale).to_value(u.one))) + 2
    ys = slice(max(int(round(y)) - half, 0), max(min(int(round(y)) + half + 1, mosaic.shape[0]), 0))
    xs = slice(max(int(round(x)) - half, 0), max(min(int(round(x)) + half + 1, mosaic.shape[1]), 0))
    grid_y, grid_x = np.mgrid[ys, xs]
    if grid_y.size:
        sky = mosaic.wcs.pixel_to_world(grid_x, grid_y)
        mask[ys, xs] = sky.separation(centre) <= radius
    return mask


def _score(probability, aperture, sigma_pixels):
    """Largest beam-smoothed probability in the aperture (the cluster score)."""
    valid = np.isfinite(probability)
    filled = np.where(valid, probability, 0.0)
    weights = ndimage.gaussian_filter(valid.astype(float), sigma_pixels, mode="constant")
    smoothed = ndimage.gaussian_filter(filled, sigma_pixels, mode="constant")
    inside = aperture & valid & (weights > 0)
    if not inside.any():
        return np.nan
    return float((smoothed[inside] / weights[inside]).max())


@dataclass(frozen=True)
class _Settings:
    aperture: float
    spectral_index: float
    frequency: u.Quantity
    score_threshold: float
    detection_threshold: float | None
    low_threshold: float | None
    min_area_beams: float | None
    augment: bool
    max_rms: u.Quantity | None
    outdir: Path | None
    cosmology: object
    beam: object = None


def _covering_mosaic(positions, mosaics):
    """Index of the mosaic covering each cluster (-1: none).

    A mosaic covers a cluster when the cluster's position falls on one of its
    pixels and that pixel is not blanked; of several, the one where the
    cluster lies farthest from the edge is taken.
    """
    best = np.full(len(positions), -1)
    edge = np.full(len(positions), -np.inf) * u.arcmin
    for index, mosaic in enumerate(mosaics):
        x, y = mosaic.wcs.world_to_pixel(positions)
        ny, nx = mosaic.shape
        distance = np.minimum.reduce([x + 0.5, nx - 0.5 - x, y + 0.5, ny - 0.5 - y])
        inside = np.where(np.isfinite(distance), distance, -1.0) > 0
        ix = np.clip(np.round(np.nan_to_num(x)).astype(int), 0, nx - 1)
        iy = np.clip(np.round(np.nan_to_num(y)).astype(int), 0, ny - 1)
        inside[inside] &= np.isfinite(np.asarray(mosaic.data[iy[inside], ix[inside]], dtype=float))
        distance = (distance * mosaic.pixel_scale).to(u.arcmin)
        better = inside & (distance > edge)
        best[better] = index
        edge[better] = distance[better]
    return best


def _as_mosaics(mosaics, beam):
    if isinstance(mosaics, (str, os.PathLike, SurveyMosaic)):
        mosaics = [mosaics]
    sources = list(mosaics)
    if not sources:
        raise ValueError("give at least one mosaic")
    opened = [m if isinstance(m, SurveyMosaic) else read_with_beam(m, beam) for m in sources]
    labels = [
        str(m) if not isinstance(m, SurveyMosaic) else m.meta.get("path", f"mosaic{i}")
        for i, m in enumerate(sources)
    ]
    return sources, opened, labels


def _classify_one(detector, cluster, mosaic, label, settings):
    """Cut out, detect, score and measure one cluster; write its products."""
    if not isinstance(mosaic, SurveyMosaic):
        mosaic = read_with_beam(mosaic, settings.beam)
    cutout = mosaic.cutout(cluster.position, cluster.box)
    redshift = cluster.redshift if np.isfinite(cluster.redshift) else None
    with warnings.catch_warnings():
        # An empty cut-out is an answer here (no diffuse emission), not a surprise.
        warnings.filterwarnings(
            "ignore", message="no diffuse emission detected", category=DiffuseRadioWarning
        )
        catalog = detector.detect(
            cutout,
            threshold=settings.detection_threshold,
            low_threshold=settings.low_threshold,
            min_area_beams=settings.min_area_beams,
            augment=settings.augment,
            redshift=redshift,
            cosmology=settings.cosmology,
        )
        detections = detections_in_aperture(
            catalog,
            cluster.position,
            cluster.aperture_radius,
            r500=cluster.r500_angle,
            spectral_index=settings.spectral_index,
            frequency=settings.frequency,
        )
    probability = _diffuse_map(catalog.probability)
    resolution = max(detector.card.beam.major, cutout.beam.major)
    sigma = float(resolution / cutout.pixel_scale) * _FWHM_TO_SIGMA
    score = _score(probability, _aperture(cutout, cluster.position, cluster.aperture_radius), sigma)
    row = _row(cluster, settings, label=label, cutout=cutout, score=score, detections=detections)
    detections.add_column(np.full(len(detections), cluster.name), name="cluster", index=0)
    if settings.outdir is not None:
        write_cluster(settings.outdir, cluster, row, detections, catalog, probability)
    return row, detections


def _diffuse_map(probability):
    probability = np.asarray(probability, dtype=np.float32)  # a cut-out's: small
    return probability if probability.ndim == 2 else np.nansum(probability, axis=0)


def _row(cluster, settings, *, label="", cutout=None, score=np.nan, detections=None, failed=False):
    """The cluster's one-row table (uncovered or failed clusters: no measurements)."""
    flags = cluster.flags
    rms = np.nan * JY_PER_BEAM
    blank_fraction = np.nan
    if failed:
        flags |= FAILED
    elif cutout is None:
        flags |= NOT_COVERED
    else:
        rms = cutout.rms
        blank_fraction = float(np.mean(~np.isfinite(np.asarray(cutout.data))))
        flags |= PARTLY_BLANKED if blank_fraction > 0 else 0
        noisy = settings.max_rms is not None and rms > settings.max_rms
        flags |= NOISY if noisy else 0
    main = _brightest(detections)
    columns = {
        "name": [cluster.name],
        "position": SkyCoord([cluster.position]),
        "redshift": [cluster.redshift],
        "m500": u.Quantity([cluster.m500]).to(u.Msun),
        "r500": u.Quantity([cluster.r500]).to(u.Mpc),
        "r500_angle": u.Quantity([cluster.r500_angle]).to(u.arcmin),
        "box_size": u.Quantity([cluster.box]).to(u.arcmin),
        "aperture_radius": u.Quantity([cluster.aperture_radius]).to(u.arcmin),
        "mosaic": [label],
        "blank_fraction": [blank_fraction],
        "rms": u.Quantity([rms]).to(u.uJy / u.beam),
        "score": [score],
        "has_diffuse": [bool(score >= settings.score_threshold)],
        "n_detections": np.array([0 if detections is None else len(detections)], dtype=np.int32),
        "diffuse_class": [main.get("diffuse_class", "")],
    }
    for column, unit in _MAIN_COLUMNS.items():
        columns[column] = u.Quantity([main.get(column, np.nan * unit)]).to(unit)
    columns["distance_r500"] = [float(main.get("distance_r500", np.nan))]
    columns["flags"] = np.array([flags], dtype=np.int32)
    return QTable(columns)


#: Columns of the brightest detection copied into the cluster's row.
_MAIN_COLUMNS = {
    "flux_density": u.mJy,
    "flux_density_err": u.mJy,
    "largest_angular_size": u.arcmin,
    "largest_linear_size": u.kpc,
    "radio_power": u.W / u.Hz,
}


def _brightest(detections):
    if detections is None or len(detections) == 0:
        return {}
    row = detections[int(np.argmax(detections["flux_density"]))]
    return {name: row[name] for name in detections.colnames}


def classify_clusters(
    detector,
    clusters,
    mosaics,
    *,
    ra=None,
    dec=None,
    redshift=None,
    r500=None,
    m500=None,
    name=None,
    box_size=2.5 * u.Mpc,
    fallback_box_size=10 * u.arcmin,
    aperture=1.0,
    spectral_index=1.3,
    frequency=144 * u.MHz,
    score_threshold=0.5,
    detection_threshold=None,
    low_threshold=None,
    min_area_beams=None,
    augment=False,
    max_rms=None,
    outdir=None,
    client=None,
    progress=True,
    return_detections=False,
    cosmology=None,
    beam=None,
    overwrite=False,
):
    """Score and measure diffuse emission in each cluster of a catalogue.

    For each cluster: the mosaic that covers it is found, a box of
    ``box_size`` centred on it is cut out and given to the detector, and the
    cluster gets a score (the probability that it hosts diffuse emission,
    see the module documentation), a yes/no at ``score_threshold``, the
    diffuse detections within the aperture (``aperture`` times R500) with
    their flux density, largest linear size, radio power and distance from
    the centre, and coverage flags (:data:`CLUSTER_FLAGS`).

    Parameters
    ----------
    detector : `~diffuseradio.DiffuseDetector`
    clusters : `~astropy.table.Table`
        The clusters. Columns are found by name (case-insensitive) unless
        given: RA/Dec (``RA``/``DEC``, ``RAdeg``/``DEdeg``...), name
        (``NAME``, ``MCXC``...), redshift (``REDSHIFT``, ``z``; unknown when
        masked, NaN or not positive, e.g. PSZ2's -1), R500 (``R500``, in Mpc
        when the column has no unit) and M500 (``M500``, PSZ2's ``MSZ``; in
        1e14 Msun when the column has no unit astropy understands). PSZ2 and
        MCXC work as they are.
    mosaics : str, os.PathLike, `~diffuseradio.SurveyMosaic` or a list of them
        The survey images (paths are memory-mapped).
    ra, dec, redshift, r500, m500, name : str, optional
        Column names, overriding the search by name.
    box_size : `~astropy.units.Quantity`, optional
        Side of the cut-out: a proper length at the cluster's redshift
        (Planck 2018 cosmology) or an angle.
    fallback_box_size : `~astropy.units.Quantity`, optional
        Angular side of the cut-out of clusters of unknown redshift (when
        ``box_size`` is a length).
    aperture : float, optional
        Radius of the aperture in units of R500. R500 comes from the R500
        column, else from M500 (:func:`r500_from_m500`), else 1 Mpc is
        assumed (flagged). For a cluster of unknown redshift the aperture is
        the circle inscribed in its box.
    spectral_index : float, optional
        ``alpha`` (``S ~ nu^-alpha``) of the k-correction of radio powers.
    frequency : `~astropy.units.Quantity`, optional
        Frequency of the radio powers (flux densities are scaled to it from
        the image's frequency).
    score_threshold : float, optional
        Clusters scoring at least this have ``has_diffuse`` True.
    detection_threshold, low_threshold, min_area_beams : float, optional
        The detections' operating point (see
        :meth:`~diffuseradio.DiffuseDetector.detect`; default: the model
        card's).
    augment : bool, optional
        Test-time augmentation (see :meth:`~diffuseradio.DiffuseDetector.predict`).
    max_rms : `~astropy.units.Quantity`, optional
        Clusters whose cut-out is noisier than this (Jy/beam) are flagged.
    outdir : str or os.PathLike, optional
        Write the outputs here (see Notes) and resume from them.
    client : `distributed.Client` or str, optional
        Classify the clusters in parallel on this Dask cluster (a client, or
        its scheduler's address); the model is sent once to each worker, and
        paths are read by the workers (which must see ``outdir`` when it is
        given). A cluster that fails is flagged and the others run on.
    progress : bool, optional
        Show a progress bar over the clusters.
    return_detections : bool, optional
        Also return the table of all detections within the apertures.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        For R500 from M500, angular sizes, linear sizes and radio powers
        (default Planck18; recorded in the tables' ``meta["cosmology"]``).
    beam : `~astropy.units.Quantity` or `radio_beam.Beam`, optional
        Restoring beam of mosaics (paths) whose header has none; a mosaic
        with a different beam in its header is refused
        (:func:`~diffuseradio.mosaic.survey_mosaic.read_with_beam`).
    overwrite : bool, optional
        Classify every covered cluster again, replacing the products of an
        earlier run in ``outdir`` instead of reusing them.

    Returns
    -------
    clusters : `~astropy.table.QTable`
        One row per input cluster, in input order: ``name``, ``position``
        (SkyCoord), ``redshift``, ``m500``, ``r500`` (Mpc), ``r500_angle``,
        ``box_size``, ``aperture_radius`` (arcmin), ``mosaic`` (the image
        used), ``blank_fraction`` of the box, ``rms`` of the box, ``score``
        (NaN when not covered), ``has_diffuse``, ``n_detections`` within the
        aperture and, for the brightest of them, ``diffuse_class``,
        ``flux_density``, ``flux_density_err``, ``largest_angular_size``,
        ``largest_linear_size`` (kpc), ``radio_power`` (W/Hz at
        ``frequency``) and ``distance_r500``; ``flags``.
    detections : `~astropy.table.QTable`
        Only with ``return_detections``: every detection within an
        aperture (see :func:`detections_in_aperture`), with its ``cluster``.

    Notes
    -----
    With ``outdir``, each cluster's products are written as soon as it is
    done, in ``outdir/clusters/``: ``KEY.probability.fits`` (the cut-out of
    the probability map, with its WCS), ``KEY.detections.ecsv``, ``KEY.reg``
    (DS9 outlines of its detections), ``KEY.png`` (the gallery image) and,
    last, ``KEY.row.ecsv``; ``KEY`` is the cluster name made safe for file
    names. A later run with the same ``outdir`` reuses the clusters whose row
    file exists (delete the folder to start afresh). At the end come
    ``clusters.ecsv``, ``clusters.fits``, ``detections.ecsv``,
    ``detections.reg`` and ``gallery.html`` (a table of the covered
    clusters with thumbnails linking to their images). Every file is written
    under a temporary name and renamed.
    """
    if not aperture > 0:
        raise ValueError(f"aperture must be positive (in units of R500), got {aperture}")
    if not 0 < score_threshold < 1:
        raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold}")
    if not isinstance(clusters, Table):
        raise TypeError(f"clusters must be an astropy Table, not {type(clusters).__name__}")
    detector.card.detection_settings(detection_threshold, low_threshold, min_area_beams)
    settings = _Settings(
        aperture=float(aperture),
        spectral_index=float(spectral_index),
        frequency=u.Quantity(frequency, u.MHz),
        score_threshold=float(score_threshold),
        detection_threshold=detection_threshold,
        low_threshold=low_threshold,
        min_area_beams=min_area_beams,
        augment=bool(augment),
        max_rms=None if max_rms is None else u.Quantity(max_rms, JY_PER_BEAM),
        outdir=None if outdir is None else Path(outdir),
        cosmology=cosmology or Planck18,
        beam=beam,
    )
    columns = {"ra": ra, "dec": dec, "redshift": redshift, "r500": r500, "m500": m500, "name": name}
    catalogue, positions = read_clusters(
        clusters, columns, box_size, fallback_box_size, aperture, settings.cosmology
    )
    sources, opened, labels = _as_mosaics(mosaics, settings.beam)
    covering = _covering_mosaic(positions, opened)
    if settings.outdir is not None:
        settings.outdir.mkdir(parents=True, exist_ok=True)
    results = {}
    todo = []
    for cluster, index in zip(catalogue, covering):
        if index < 0:
            results[cluster.key] = (_row(cluster, settings), None)
            continue
        resume = settings.outdir is not None and not overwrite
        done = read_done(settings.outdir, cluster) if resume else None
        if done is not None:
            results[cluster.key] = done
        else:
            todo.append((cluster, int(index)))
    log.info(
        "%d clusters: %d covered, %d to classify",
        len(catalogue),
        int((covering >= 0).sum()),
        len(todo),
    )
    if client is None:
        results.update(_run_serial(detector, todo, opened, labels, settings, progress))
    else:
        with connected_client(client) as running:
            results.update(
                _run_parallel(running, detector, todo, sources, labels, settings, progress)
            )
    table, detections = _assemble(catalogue, results, settings, detector)
    if settings.outdir is not None:
        write_summary(settings.outdir, table, detections, [c.key for c in catalogue])
    return (table, detections) if return_detections else table


def _run_serial(detector, todo, mosaics, labels, settings, progress):
    from tqdm.auto import tqdm

    for cluster, index in tqdm(todo, disable=not progress, unit="cluster"):
        try:
            result = _classify_one(detector, cluster, mosaics[index], labels[index], settings)
        except Exception as err:  # one bad cluster must not stop the run: record why
            result = _failed(cluster, labels[index], settings, err)
        yield cluster.key, result


def _run_parallel(client, detector, todo, sources, labels, settings, progress):
    """Classify on a Dask cluster: model and in-memory mosaics are sent once per worker."""
    model = client.scatter(detector, broadcast=True, hash=False)
    in_memory = [i for i, source in enumerate(sources) if isinstance(source, SurveyMosaic)]
    scattered = {}
    if in_memory:
        copies = client.scatter([sources[i] for i in in_memory], broadcast=True, hash=False)
        scattered = dict(zip(in_memory, copies))
    futures = client.map(
        _classify_one,
        [model] * len(todo),
        [cluster for cluster, _ in todo],
        [scattered.get(i, str(sources[i])) for _, i in todo],
        [labels[i] for _, i in todo],
        [settings] * len(todo),
        pure=False,
    )
    jobs = dict(zip(futures, todo))
    results = gather_as_completed(client, jobs, progress=progress, unit="cluster")
    for (cluster, index), result, error in results:
        if error is not None:
            result = _failed(cluster, labels[index], settings, error)
        yield cluster.key, result


def _failed(cluster, label, settings, error):
    """The row of a cluster whose classification raised ``error`` (logged)."""
    log.warning("%s failed: %s", cluster.name, " ".join(f"{type(error).__name__}: {error}".split()))
    return _row(cluster, settings, label=label, failed=True), None


def _assemble(catalogue, results, settings, detector):
    """The cluster and detection tables, in input order, with metadata."""
    rows = [results[c.key][0] for c in catalogue]
    found = [results[c.key][1] for c in catalogue if results[c.key][1] is not None]
    table = vstack(rows, metadata_conflicts="silent") if rows else QTable()
    detections = vstack(found, metadata_conflicts="silent") if found else QTable()
    meta = {
        "model": detector.card.identifier,
        "score_rule": "max within aperture of the beam-smoothed probability map",
        "score_threshold": settings.score_threshold,
        "aperture_r500": settings.aperture,
        "spectral_index": settings.spectral_index,
        "power_frequency_mhz": float(settings.frequency.to_value(u.MHz)),
        "cosmology": settings.cosmology.name,
        "flags": dict(CLUSTER_FLAGS),
    }
    table.meta = dict(meta)
    detections.meta = dict(meta)
    return table, detections
