"""Cluster mode: from a cluster catalogue to halo and relic candidates.

:func:`classify_clusters` takes a catalogue of galaxy clusters (Planck PSZ2,
MCXC or any table with positions and redshifts) and survey mosaics, finds the
mosaic that covers each cluster, cuts out a box of fixed physical size around
it, runs a :class:`~diffuseradio.DiffuseDetector` on the box and reports, per
cluster, the probability that it hosts diffuse emission, the diffuse
detections near its centre with their physical properties, and coverage
flags. :func:`validate_scores` and :func:`plot_roc` compare the scores with
known labels the way the Radio U-Net paper does (accuracy, recall, precision,
ROC curve and AUC).

The cluster score
-----------------
The score of a cluster is the **maximum, within the aperture (``aperture``
times R500 from the catalogue position), of the probability map smoothed
with a Gaussian of one resolution element** (the larger of the model's
working beam and the image's beam, FWHM; blanked pixels are ignored).

- The maximum, not the mean, makes the score independent of how much of the
  aperture the emission fills: a small radio halo in a large, nearby cluster
  or a relic at the aperture's edge scores as high as a halo that fills it,
  and the score does not drift with redshift as the aperture's angular size
  does.
- The smoothing over one resolution element makes the score the probability
  of a beam-sized patch of emission rather than of one pixel, so isolated
  noisy pixels do not decide it, while any source of at least a beam keeps
  its probability. Diffuse emission is by definition larger than a beam.
- The score stays a probability in [0, 1] on the same scale as the
  detection threshold of the model, so ``score_threshold`` and the model
  card's threshold mean the same thing.
"""

import html
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.cosmology import Planck18
from astropy.io import fits
from astropy.table import QTable, Table, vstack
from scipy import ndimage

from .catalog import decode_flags, sky_coordinates
from .atomic import atomic_write
from .exceptions import DiffuseRadioWarning
from .mosaic import SurveyMosaic

__all__ = [
    "classify_clusters",
    "detections_in_aperture",
    "radio_power",
    "r500_from_m500",
    "CLUSTER_FLAGS",
    "decode_cluster_flags",
    "ScoreValidation",
    "validate_scores",
    "plot_roc",
]

log = logging.getLogger(__name__)

#: Cluster flags: bit value -> meaning. Combine with ``|``; see :func:`decode_cluster_flags`.
CLUSTER_FLAGS = {
    1: "not covered: outside every mosaic (or on blanked pixels)",
    2: "partly blanked: part of the box is blanked or outside the mosaic",
    4: "noise above max_rms",
    8: "redshift unknown: angular box, no physical quantities",
    16: "no R500 or M500: R500 = 1 Mpc assumed",
}

_NOT_COVERED, _BLANKED, _NOISY, _NO_REDSHIFT, _R500_ASSUMED = CLUSTER_FLAGS

#: R500 used when a cluster has neither an R500 nor an M500.
_DEFAULT_R500 = 1.0 * u.Mpc
#: Units assumed for catalogue columns without a usable unit (PSZ2, MCXC).
_MASS_UNIT = 1e14 * u.Msun
_FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))

_NAME_COLUMNS = ("name", "mcxc", "cluster", "cluster_name", "id")
_REDSHIFT_COLUMNS = ("redshift", "z", "zspec", "z_spec", "zbest")
_R500_COLUMNS = ("r500", "r500c", "r_500")
_M500_COLUMNS = ("m500", "msz", "m500c", "m_500")

JY_PER_BEAM = u.Jy / u.beam


def decode_cluster_flags(flags):
    """List the meanings of the bits set in a cluster ``flags`` value.

    Parameters
    ----------
    flags : int

    Returns
    -------
    list of str

    Examples
    --------
    >>> decode_cluster_flags(10)  # doctest: +NORMALIZE_WHITESPACE
    ['partly blanked: part of the box is blanked or outside the mosaic',
     'redshift unknown: angular box, no physical quantities']
    """
    return decode_flags(flags, CLUSTER_FLAGS)


# ================================================================ physics


def radio_power(
    flux_density,
    redshift,
    *,
    spectral_index=1.3,
    frequency=144 * u.MHz,
    observed_frequency=None,
):
    """k-corrected rest-frame radio power, ``P = 4 pi D_L^2 S (1 + z)^(alpha - 1)``.

    With ``S_nu ~ nu^-alpha``, the flux density measured at
    ``observed_frequency`` is first scaled to ``frequency``, then
    ``P_nu = 4 pi D_L(z)^2 S_nu (1 + z)^(alpha - 1)`` (Planck 2018 cosmology)
    gives the power emitted at ``frequency`` in the source's frame.

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Measured flux density (scalar or array).
    redshift : float or array_like
        Redshift; NaN or non-positive values give NaN.
    spectral_index : float, optional
        ``alpha`` of ``S_nu ~ nu^-alpha`` (1.3 is typical of radio halos).
    frequency : `~astropy.units.Quantity`, optional
        Frequency of the power (default 144 MHz).
    observed_frequency : `~astropy.units.Quantity`, optional
        Frequency of the measurement (default: ``frequency``).

    Returns
    -------
    `~astropy.units.Quantity`
        In W/Hz.

    Examples
    --------
    >>> import astropy.units as u
    >>> power = radio_power(100 * u.mJy, 0.2)
    >>> print(f"{power:.3e}")
    1.295e+25 W / Hz
    >>> power_1400 = radio_power(7.2 * u.mJy, 0.2, observed_frequency=1.4 * u.GHz)
    >>> print(f"{power_1400:.3e}")
    1.794e+25 W / Hz
    """
    flux_density = u.Quantity(flux_density, u.Jy)
    observed = frequency if observed_frequency is None else observed_frequency
    scale = float((u.Quantity(frequency) / u.Quantity(observed)).to(u.one)) ** -spectral_index
    z = np.asarray(redshift, dtype=float)
    known = np.isfinite(z) & (z > 0)
    distance = np.full(z.shape, np.nan) * u.m
    if known.any():
        distance[known] = Planck18.luminosity_distance(z[known]).to(u.m)
    power = 4 * np.pi * distance**2 * flux_density * scale * (1 + z) ** (spectral_index - 1)
    return power.to(u.W / u.Hz)


def r500_from_m500(m500, redshift):
    """R500 from M500: ``R500 = (3 M500 / (4 pi 500 rho_c(z)))^(1/3)``.

    The radius within which the mean density is 500 times the critical
    density of the Universe at the cluster's redshift (Planck 2018).

    Parameters
    ----------
    m500 : `~astropy.units.Quantity`
        Mass within R500.
    redshift : float or array_like

    Returns
    -------
    `~astropy.units.Quantity`
        In Mpc.

    Examples
    --------
    >>> import astropy.units as u
    >>> r500_from_m500(1e15 * u.Msun, 0.2).round(3)
    <Quantity 1.452 Mpc>
    """
    rho_c = Planck18.critical_density(np.asarray(redshift, dtype=float))
    return np.cbrt(3 * u.Quantity(m500) / (4 * np.pi * 500 * rho_c)).to(u.Mpc)


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
        Detections in one image; its ``redshift`` (None when unknown) gives
        the physical quantities.
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


# ============================================================ the clusters


@dataclass(frozen=True)
class _Cluster:
    """One cluster of the input table, with its box and aperture."""

    name: str
    key: str
    position: SkyCoord
    redshift: float
    m500: u.Quantity
    r500: u.Quantity
    r500_angle: u.Quantity
    box: u.Quantity
    aperture_radius: u.Quantity
    flags: int


@dataclass(frozen=True)
class _Settings:
    aperture: float
    spectral_index: float
    frequency: u.Quantity
    score_threshold: float
    detection_threshold: float | None
    max_rms: u.Quantity | None
    outdir: Path | None


def _clusters(table, columns, box_size, fallback_box_size, aperture):
    """Read positions, redshifts, R500 and M500 from the table; size the boxes."""
    positions, table = sky_coordinates(table, columns["ra"], columns["dec"])
    n = len(table)
    redshift_column = _column_name(table, columns["redshift"], _REDSHIFT_COLUMNS)
    redshift = _values(table, redshift_column, u.one, u.one)
    if redshift_column is None:
        warnings.warn(
            f"no redshift column found among {table.colnames}; every cluster is flagged "
            "'redshift unknown' (pass redshift= to name one)",
            DiffuseRadioWarning,
            stacklevel=3,
        )
    known = np.isfinite(redshift) & (redshift > 0)
    redshift = np.where(known, redshift, np.nan)
    m500_column = _column_name(table, columns["m500"], _M500_COLUMNS)
    r500_column = _column_name(table, columns["r500"], _R500_COLUMNS)
    m500 = _values(table, m500_column, u.Msun, _MASS_UNIT) * u.Msun
    r500 = _values(table, r500_column, u.Mpc, u.Mpc) * u.Mpc
    from_mass = ~(r500 > 0) & (m500 > 0) & known
    r500[from_mass] = r500_from_m500(m500[from_mass], redshift[from_mass])
    assumed = ~(r500 > 0) & known
    r500[assumed] = _DEFAULT_R500
    r500[~(r500 > 0)] = np.nan
    m500[~(m500 > 0)] = np.nan
    per_arcmin = np.full(n, np.nan) * u.kpc / u.arcmin
    if known.any():
        per_arcmin[known] = Planck18.kpc_proper_per_arcmin(redshift[known])
    r500_angle = (r500 / per_arcmin).to(u.arcmin)
    box = _box_sizes(box_size, fallback_box_size, per_arcmin, known)
    radius = np.where(known, aperture * r500_angle, box / 2)
    flags = np.where(known, 0, _NO_REDSHIFT) | np.where(assumed, _R500_ASSUMED, 0)
    names = _names(table, columns["name"])
    keys = _keys(names)
    clusters = [
        _Cluster(
            names[i],
            keys[i],
            positions[i],
            float(redshift[i]),
            m500[i],
            r500[i],
            r500_angle[i],
            box[i],
            radius[i],
            int(flags[i]),
        )
        for i in range(n)
    ]
    return clusters, positions


def _box_sizes(box_size, fallback_box_size, per_arcmin, known):
    box_size = u.Quantity(box_size)
    if box_size.unit.physical_type == "angle":
        return np.full(known.shape, box_size.to_value(u.arcmin)) * u.arcmin
    if box_size.unit.physical_type != "length":
        raise u.UnitsError(f"box_size must be a length or an angle, not {box_size}")
    box = np.full(known.shape, u.Quantity(fallback_box_size, u.arcmin).value) * u.arcmin
    box[known] = (box_size / per_arcmin[known]).to(u.arcmin)
    return box


def _column_name(table, given, candidates):
    """The column given, or the first candidate name found (case-insensitive), or None."""
    if given is not None:
        if given not in table.colnames:
            raise ValueError(f"no column {given!r} in the cluster table ({table.colnames})")
        return given
    lower = {name.lower(): name for name in table.colnames}
    return next((lower[c] for c in candidates if c in lower), None)


def _values(table, name, unit, assumed):
    """Float values of a column in ``unit`` (NaN when masked, or for no column).

    A column without a unit astropy understands (``'10^14 Msol'`` in PSZ2,
    ``'10+14Msun'`` in MCXC, none at all) is taken to be in ``assumed``.
    """
    if name is None:
        return np.full(len(table), np.nan)
    column = table[name]
    column_unit = getattr(column, "unit", None)
    data = column.value if isinstance(column, u.Quantity) else column
    values = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan)
    usable = column_unit is not None and not isinstance(column_unit, u.UnrecognizedUnit)
    if usable and column_unit.is_equivalent(unit):
        return (values * column_unit).to_value(unit)
    return (values * assumed).to_value(unit)


def _names(table, given):
    name = _column_name(table, given, _NAME_COLUMNS)
    if name is None:
        return [f"cluster{i}" for i in range(len(table))]
    column = table[name]
    masked = np.ma.getmaskarray(column)
    return [
        f"cluster{i}" if masked[i] else str(value).strip() or f"cluster{i}"
        for i, value in enumerate(column.tolist())
    ]


def _keys(names):
    """File-name-safe, unique keys for the clusters' output files."""
    keys, seen = [], set()
    for i, name in enumerate(names):
        key = re.sub(r"[^A-Za-z0-9.+\-]+", "_", name).strip("_") or f"cluster{i}"
        if key in seen:
            key = f"{key}_{i}"
        seen.add(key)
        keys.append(key)
    return keys


# ============================================================== coverage


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


def _as_mosaics(mosaics):
    if isinstance(mosaics, (str, os.PathLike, SurveyMosaic)):
        mosaics = [mosaics]
    sources = list(mosaics)
    if not sources:
        raise ValueError("give at least one mosaic")
    opened = [m if isinstance(m, SurveyMosaic) else SurveyMosaic.read(m) for m in sources]
    labels = [
        str(m) if not isinstance(m, SurveyMosaic) else m.meta.get("path", f"mosaic{i}")
        for i, m in enumerate(sources)
    ]
    return sources, opened, labels


# ============================================================ one cluster


def _classify_one(detector, cluster, mosaic, label, settings):
    """Cut out, detect, score and measure one cluster; write its products."""
    if not isinstance(mosaic, SurveyMosaic):
        mosaic = SurveyMosaic.read(mosaic)
    cutout = mosaic.cutout(cluster.position, cluster.box)
    redshift = cluster.redshift if np.isfinite(cluster.redshift) else None
    with warnings.catch_warnings():
        # An empty cut-out is an answer here (no diffuse emission), not a surprise.
        warnings.filterwarnings(
            "ignore", message="no diffuse emission detected", category=DiffuseRadioWarning
        )
        catalog = detector.detect(cutout, threshold=settings.detection_threshold, redshift=redshift)
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
        _write_cluster(settings.outdir, cluster, row, detections, catalog, probability)
    return row, detections


def _diffuse_map(probability):
    return probability if probability.ndim == 2 else np.nansum(probability, axis=0)


def _row(cluster, settings, *, label="", cutout=None, score=np.nan, detections=None):
    """The cluster's one-row table (uncovered clusters: no measurements)."""
    flags = cluster.flags
    rms = np.nan * JY_PER_BEAM
    blank_fraction = np.nan
    if cutout is None:
        flags |= _NOT_COVERED
    else:
        rms = cutout.rms
        blank_fraction = float(np.mean(~np.isfinite(np.asarray(cutout.data))))
        flags |= _BLANKED if blank_fraction > 0 else 0
        noisy = settings.max_rms is not None and rms > settings.max_rms
        flags |= _NOISY if noisy else 0
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


# ================================================================ outputs


def _cluster_paths(outdir, key):
    folder = Path(outdir) / "clusters"
    return {
        "row": folder / f"{key}.row.ecsv",
        "detections": folder / f"{key}.detections.ecsv",
        "probability": folder / f"{key}.probability.fits",
        "regions": folder / f"{key}.reg",
        "png": folder / f"{key}.png",
    }


def _write_cluster(outdir, cluster, row, detections, catalog, probability):
    """Write the cluster's products; the row file goes last and marks it done."""
    paths = _cluster_paths(outdir, cluster.key)
    paths["row"].parent.mkdir(parents=True, exist_ok=True)
    _write_table(detections, paths["detections"])
    header = catalog.mosaic.wcs.to_header()
    header["BUNIT"] = ("", "probability of diffuse emission")
    header["OBJECT"] = cluster.name
    header["SCORE"] = (float(row["score"][0]), "cluster score (see diffuseradio.clusters)")
    hdu = fits.PrimaryHDU(probability.astype(np.float32), header)
    atomic_write(paths["probability"], lambda tmp: hdu.writeto(tmp, overwrite=True))
    labels = set(int(i) for i in detections["id"])
    regions = [r for r in catalog.to_regions() if int(r.meta["label"]) in labels]
    for region in regions:
        region.meta["text"] = f"{cluster.name} #{region.meta['label']}"
    if regions:
        from regions import Regions

        atomic_write(
            paths["regions"], lambda tmp: Regions(regions).write(tmp, format="ds9", overwrite=True)
        )
    figure = _gallery_figure(catalog, probability, sorted(labels), cluster, row)
    atomic_write(paths["png"], lambda tmp: figure.savefig(tmp, dpi=80, bbox_inches="tight"))
    _write_table(row, paths["row"])


def _write_table(table, path):
    atomic_write(path, lambda tmp: table.write(tmp, format="ascii.ecsv", overwrite=True))


def _read_done(outdir, cluster):
    """The saved row and detections of a cluster done in an earlier run, or None."""
    paths = _cluster_paths(outdir, cluster.key)
    if not paths["row"].exists():
        return None
    return QTable.read(paths["row"]), QTable.read(paths["detections"])


def _gallery_figure(catalog, probability, labels, cluster, row):
    """Image (asinh stretch), probability contours, R500 circle, detections."""
    from astropy.visualization import AsinhStretch, ImageNormalize
    from astropy.visualization.wcsaxes import SphericalCircle
    from astropy.wcs.utils import wcs_to_celestial_frame
    from matplotlib.figure import Figure

    mosaic = catalog.mosaic
    figure = Figure(figsize=(5.2, 5.2))
    ax = figure.add_subplot(projection=mosaic.wcs)
    rms = float(row["rms"][0].to_value(u.Jy / u.beam))
    norm = ImageNormalize(vmin=-2 * rms, vmax=50 * rms, stretch=AsinhStretch(0.05))
    ax.imshow(np.asarray(mosaic.data), origin="lower", cmap="inferno", norm=norm)
    finite = probability[np.isfinite(probability)]
    levels = [p for p in (0.25, 0.5, 0.75) if finite.min() < p < finite.max()]
    if levels:
        ax.contour(np.nan_to_num(probability), levels=levels, colors="cyan", linewidths=0.7)
    if labels:
        outline = np.isin(catalog.segmentation, labels).astype(float)
        ax.contour(outline, levels=[0.5], colors="lime", linewidths=1.2)
    centre = cluster.position.transform_to(wcs_to_celestial_frame(mosaic.wcs))
    r500 = cluster.r500_angle
    circles = [(cluster.aperture_radius, "-")]
    if np.isfinite(r500) and not np.isclose(r500, cluster.aperture_radius):
        circles.append((r500, "--"))
    for radius, style in circles:
        ax.add_patch(
            SphericalCircle(
                (centre.spherical.lon, centre.spherical.lat),
                radius,
                edgecolor="white",
                facecolor="none",
                linestyle=style,
                transform=ax.get_transform("world"),
            )
        )
    ax.set_xlim(-0.5, mosaic.shape[1] - 0.5)  # circles may reach beyond the cut-out
    ax.set_ylim(-0.5, mosaic.shape[0] - 0.5)
    figure.text(
        0.5,
        0.005,
        "cyan: probability 0.25, 0.5, 0.75; green: detections in the aperture; "
        "white: aperture (solid), R500 (dashed)",
        ha="center",
        fontsize=6,
    )
    redshift = f"z = {cluster.redshift:.3f}" if np.isfinite(cluster.redshift) else "z unknown"
    ax.set_title(f"{cluster.name}   {redshift}   score = {float(row['score'][0]):.2f}", fontsize=9)
    ax.set_xlabel("Right Ascension")
    ax.set_ylabel("Declination")
    return figure


def _write_summary(outdir, table, detections, keys):
    """Tables, DS9 regions and the HTML gallery of the whole run."""
    outdir = Path(outdir)
    _write_table(table, outdir / "clusters.ecsv")
    flat = _fits_table(table)

    def write_fits(temporary):
        with warnings.catch_warnings():
            # Long metadata keys become FITS HIERARCH cards, as intended.
            warnings.filterwarnings(
                "ignore", message=".*HIERARCH card", category=fits.verify.VerifyWarning
            )
            flat.write(temporary, format="fits", overwrite=True)

    atomic_write(outdir / "clusters.fits", write_fits)
    _write_table(detections, outdir / "detections.ecsv")
    _write_regions(outdir, keys)
    page = _gallery_html(table, keys)
    atomic_write(outdir / "gallery.html", lambda tmp: Path(tmp).write_text(page))


def _fits_table(table):
    """A FITS-ready copy: the SkyCoord split into RA/Dec, scalar metadata only."""
    flat = table.copy()
    position = flat["position"].icrs
    index = flat.colnames.index("position")
    flat.remove_column("position")
    flat.add_column(position.dec.to(u.deg), index=index, name="dec")
    flat.add_column(position.ra.to(u.deg), index=index, name="ra")
    flat.meta = {k: v for k, v in flat.meta.items() if isinstance(v, (str, int, float, bool))}
    return flat


def _write_regions(outdir, keys):
    from regions import Regions

    regions = []
    for key in keys:
        path = _cluster_paths(outdir, key)["regions"]
        if path.exists():
            regions.extend(Regions.read(path, format="ds9"))
    target = Path(outdir) / "detections.reg"
    atomic_write(target, lambda tmp: Regions(regions).write(tmp, format="ds9", overwrite=True))


def _gallery_html(table, keys):
    """One HTML page: a row per covered cluster, thumbnail linking to its PNG."""
    rows = []
    for row, key in zip(table, keys):
        if row["flags"] & _NOT_COVERED:
            continue
        png = html.escape(f"clusters/{key}.png")
        cells = [
            f'<a href="{png}"><img src="{png}" width="180" alt="{html.escape(row["name"])}"></a>',
            html.escape(row["name"]),
            _text(row["redshift"], ".3f"),
            _text(row["score"], ".2f"),
            "yes" if row["has_diffuse"] else "no",
            str(row["n_detections"]),
            _text(row["flux_density"].to_value(u.mJy), ".3g"),
            _text(row["largest_linear_size"].to_value(u.kpc), ".0f"),
            _text(row["radio_power"].to_value(u.W / u.Hz), ".2e"),
            html.escape("; ".join(decode_cluster_flags(row["flags"]))),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = (
        "image", "cluster", "z", "score", "diffuse", "detections", "S (mJy)",
        "LLS (kpc)", "P (W/Hz)", "flags",
    )  # fmt: skip
    head = "".join(f"<th>{h}</th>" for h in header)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>diffuseradio clusters</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px;text-align:center}</style></head><body>"
        f"<h1>Diffuse emission in {len(rows)} covered clusters</h1>"
        f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table></body></html>\n"
    )


def _text(value, spec):
    return "" if not np.isfinite(value) else format(value, spec)


# ================================================================ the run


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
    max_rms=None,
    outdir=None,
    client=None,
    progress=True,
    return_detections=False,
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
    detection_threshold : float, optional
        Probability threshold of the detections (default: the model card's).
    max_rms : `~astropy.units.Quantity`, optional
        Clusters whose cut-out is noisier than this (Jy/beam) are flagged.
    outdir : str or os.PathLike, optional
        Write the outputs here (see Notes) and resume from them.
    client : `distributed.Client`, optional
        Classify the clusters in parallel on this Dask cluster; the model is
        sent once to each worker, and paths are read by the workers (which
        must see ``outdir`` when it is given).
    progress : bool, optional
        Show a progress bar over the clusters.
    return_detections : bool, optional
        Also return the table of all detections within the apertures.

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
    settings = _Settings(
        aperture=float(aperture),
        spectral_index=float(spectral_index),
        frequency=u.Quantity(frequency, u.MHz),
        score_threshold=float(score_threshold),
        detection_threshold=detection_threshold,
        max_rms=None if max_rms is None else u.Quantity(max_rms, JY_PER_BEAM),
        outdir=None if outdir is None else Path(outdir),
    )
    columns = {"ra": ra, "dec": dec, "redshift": redshift, "r500": r500, "m500": m500, "name": name}
    catalogue, positions = _clusters(clusters, columns, box_size, fallback_box_size, aperture)
    sources, opened, labels = _as_mosaics(mosaics)
    covering = _covering_mosaic(positions, opened)
    if settings.outdir is not None:
        settings.outdir.mkdir(parents=True, exist_ok=True)
    results = {}
    todo = []
    for cluster, index in zip(catalogue, covering):
        if index < 0:
            results[cluster.key] = (_row(cluster, settings), None)
            continue
        done = None if settings.outdir is None else _read_done(settings.outdir, cluster)
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
        results.update(_run_parallel(client, detector, todo, sources, labels, settings, progress))
    table, detections = _assemble(catalogue, results, settings, detector)
    if settings.outdir is not None:
        _write_summary(settings.outdir, table, detections, [c.key for c in catalogue])
    return (table, detections) if return_detections else table


def _run_serial(detector, todo, mosaics, labels, settings, progress):
    from tqdm.auto import tqdm

    for cluster, index in tqdm(todo, disable=not progress, unit="cluster"):
        yield cluster.key, _classify_one(detector, cluster, mosaics[index], labels[index], settings)


def _run_parallel(client, detector, todo, sources, labels, settings, progress):
    """Classify on a Dask cluster: model and in-memory mosaics are sent once per worker."""
    from distributed import as_completed
    from tqdm.auto import tqdm

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
    keys = {future.key: cluster.key for future, (cluster, _) in zip(futures, todo)}
    with tqdm(total=len(todo), disable=not progress, unit="cluster") as bar:
        try:
            for future in as_completed(futures):
                yield keys[future.key], future.result()
                future.release()
                bar.update()
        finally:  # a failed cluster stops the run: do not leave the others running
            client.cancel(futures)


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
        "cosmology": Planck18.name,
        "flags": dict(CLUSTER_FLAGS),
    }
    table.meta = dict(meta)
    detections.meta = dict(meta)
    return table, detections


# ============================================================ validation


@dataclass(frozen=True)
class ScoreValidation:
    """How well cluster scores separate clusters with and without diffuse emission.

    Attributes
    ----------
    threshold : float
        The threshold the counts and rates below refer to (score >= threshold
        means "has diffuse emission").
    accuracy, recall, precision : float
        At ``threshold``; precision is NaN when nothing is predicted positive.
    true_positives, false_positives, true_negatives, false_negatives : int
        At ``threshold``.
    fpr, tpr, thresholds : numpy.ndarray
        The ROC curve: false- and true-positive rates when predicting
        positive for scores >= ``thresholds`` (decreasing, starting at
        ``inf``, one point per distinct score).
    auc : float
        Area under the ROC curve (tied scores count one half).
    best_threshold : float
        The threshold (one of the scores) that maximises the accuracy; the
        highest one when several do.
    best_accuracy : float
        The accuracy there.
    """

    threshold: float
    accuracy: float
    recall: float
    precision: float
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    best_threshold: float
    best_accuracy: float


def validate_scores(scores, labels, *, threshold=0.5):
    """Accuracy, recall, precision, ROC curve and AUC of scores against known labels.

    Parameters
    ----------
    scores : array_like
        Cluster scores (e.g. the ``score`` column of :func:`classify_clusters`);
        NaN scores (clusters not covered) are left out.
    labels : array_like of bool
        True for the clusters known to host diffuse emission.
    threshold : float, optional
        Operating threshold of the accuracy, recall and precision.

    Returns
    -------
    ScoreValidation

    Raises
    ------
    ValueError
        If shapes differ, labels are not boolean (or 0/1), or there are no
        positives or no negatives among the finite scores.

    Examples
    --------
    >>> v = validate_scores([0.9, 0.8, 0.4, 0.3, 0.6], [True, True, False, False, False])
    >>> v.auc, v.accuracy, v.recall, v.precision
    (1.0, 0.8, 1.0, 0.6666666666666666)
    >>> v.best_threshold, v.best_accuracy
    (0.8, 1.0)
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(
            f"scores {scores.shape} and labels {labels.shape} must be 1-D of equal length"
        )
    if labels.dtype != bool and not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be booleans (or 0/1)")
    keep = np.isfinite(scores)
    scores, labels = scores[keep], labels[keep].astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"need clusters of both kinds; got {positives} positives and {negatives} negatives"
        )
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], labels[order]
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]  # end of each tie group
    tp = np.r_[0, np.cumsum(truth)[last]]
    fp = np.r_[0, last + 1 - tp[1:]]
    thresholds = np.r_[np.inf, ranked[last]]
    tpr, fpr = tp / positives, fp / negatives
    accuracy = (tp + negatives - fp) / scores.size
    best = int(np.argmax(accuracy))
    predicted = scores >= threshold
    counts = {
        "true_positives": int((predicted & labels).sum()),
        "false_positives": int((predicted & ~labels).sum()),
        "true_negatives": int((~predicted & ~labels).sum()),
        "false_negatives": int((~predicted & labels).sum()),
    }
    n_predicted = counts["true_positives"] + counts["false_positives"]
    return ScoreValidation(
        threshold=float(threshold),
        accuracy=float((predicted == labels).mean()),
        recall=counts["true_positives"] / positives,
        precision=counts["true_positives"] / n_predicted if n_predicted else np.nan,
        **counts,
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
        auc=float(np.trapezoid(tpr, fpr)),
        best_threshold=float(thresholds[best]),
        best_accuracy=float(accuracy[best]),
    )


def plot_roc(validation, ax=None, *, label=None):
    """Plot the ROC curve with the operating and best-accuracy thresholds marked.

    Parameters
    ----------
    validation : ScoreValidation
        From :func:`validate_scores`.
    ax : `matplotlib.axes.Axes`, optional
        Where to draw (a new figure when omitted).
    label : str, optional
        Legend label of the curve (default: the AUC).

    Returns
    -------
    `matplotlib.axes.Axes`
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(4.5, 4.5))
    v = validation
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    ax.plot(v.fpr, v.tpr, color="C0", label=label or f"AUC = {v.auc:.2f}")
    operating_fpr = v.false_positives / (v.false_positives + v.true_negatives)
    ax.plot(
        operating_fpr, v.recall, "o", color="C1", label=f"threshold {v.threshold:.2f}: "
        f"accuracy {v.accuracy:.2f}"
    )  # fmt: skip
    best = int(np.nonzero(v.thresholds == v.best_threshold)[0][0])
    ax.plot(
        v.fpr[best], v.tpr[best], "s", color="C2", mfc="none",
        label=f"best threshold {v.best_threshold:.2f}: accuracy {v.best_accuracy:.2f}",
    )  # fmt: skip
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate (recall)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    return ax
