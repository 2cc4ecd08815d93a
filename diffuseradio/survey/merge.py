"""Merging a survey's per-mosaic results: one de-duplicated catalogue, regions, a summary."""

from collections import Counter

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack

from ..atomic import atomic_write
from .manifest import SURVEY_FILES

__all__ = ["deduplicate", "survey_catalog", "merge_regions", "survey_summary", "write_survey"]


def survey_catalog(done, outdir, settings, match_radius):
    """The catalogues of the mosaics done, merged in input order and de-duplicated."""
    catalog = deduplicate(_merge_catalogs(done, outdir), match_radius=match_radius)
    catalog.meta.update(
        mosaics=[record["stem"] for record in done],
        match_radius_arcmin=float(match_radius.to_value(u.arcmin)),
        **settings,
    )
    return catalog


def _merge_catalogs(records, outdir):
    """The catalogues of the mosaics done, stacked in input order."""
    tables = []
    for record in records:
        table = QTable.read(outdir / f"{record['stem']}.catalog.ecsv")
        table.meta.clear()
        table.add_column(np.full(len(table), record["stem"]), name="mosaic", index=1)
        table.add_column(_mosaic_offset(table, record["shape"]), name="mosaic_offset", index=2)
        tables.append(table)
    return vstack(tables) if tables else QTable()


def _mosaic_offset(table, shape):
    """Distance of each centroid from its mosaic's centre, in half the smaller side."""
    ny, nx = shape
    x = table["x_centroid"].to_value(u.pix) - (nx - 1) / 2
    y = table["y_centroid"].to_value(u.pix) - (ny - 1) / 2
    return np.hypot(x, y) / (min(nx, ny) / 2)


def deduplicate(table, *, match_radius=1 * u.arcmin):
    """Keep one row per source detected in several overlapping mosaics.

    Two rows from different mosaics are the same source when their sky
    centroids are closer than ``max(match_radius, L / 2)``, ``L`` being the
    smaller of their two ``largest_angular_size``. Of a source seen in
    several mosaics, the detection nearest its own mosaic's centre (the
    smallest ``mosaic_offset``) is kept: far from the edges the network sees
    the source with all its surroundings. In practice the rows are visited in
    increasing ``mosaic_offset``, and a row is kept unless it matches a row
    already kept; so no two rows kept from different mosaics match, and every
    row left out matches a kept row nearer its mosaic's centre. Rows of the
    same mosaic are never merged.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        Detections with ``sky_centroid``, ``largest_angular_size``,
        ``mosaic`` (name of the source mosaic) and ``mosaic_offset``
        (distance from the mosaic's centre in units of its half size).
    match_radius : `~astropy.units.Quantity`, optional
        Smallest matching radius.

    Returns
    -------
    `~astropy.table.QTable`
        The rows kept, in their original order.

    Examples
    --------
    The same halo found in the overlap of two mosaics, 20" apart:

    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> table = QTable({
    ...     "sky_centroid": SkyCoord([180.0, 180.005, 181.0], [40.0, 40.0, 40.0], unit="deg"),
    ...     "largest_angular_size": [3.0, 2.5, 1.0] * u.arcmin,
    ...     "mosaic": ["P180+40", "P182+40", "P182+40"],
    ...     "mosaic_offset": [0.9, 0.7, 0.2],
    ... })
    >>> deduplicate(table)["mosaic"].tolist()
    ['P182+40', 'P182+40']
    """
    if len(table) < 2:
        return table.copy()
    coords = table["sky_centroid"]
    las = table["largest_angular_size"]
    search = max(match_radius, 0.5 * las.max())
    first, second, separation, _ = coords.search_around_sky(coords, search)
    radius = np.maximum(match_radius, 0.5 * np.minimum(las[first], las[second]))
    mosaic = np.asarray(table["mosaic"])
    same = (mosaic[first] != mosaic[second]) & (separation <= radius)
    matches = [[] for _ in range(len(table))]
    for i, j in zip(first[same], second[same]):
        matches[i].append(j)
    keep = np.zeros(len(table), dtype=bool)
    for row in np.argsort(np.asarray(table["mosaic_offset"]), kind="stable"):
        keep[row] = not keep[matches[row]].any()
    return table[keep]


def merge_regions(records, catalog, outdir):
    """The DS9 regions of the rows kept, labelled ``MOSAIC:ID``."""
    from regions import Regions

    kept = set(zip(catalog["mosaic"], catalog["id"])) if len(catalog) else set()
    merged = []
    for record in records:
        stem = record["stem"]
        for region in Regions.read(outdir / f"{stem}.regions.reg", format="ds9"):
            ident = int(region.meta["text"])
            if (stem, ident) in kept:
                region.meta["text"] = f"{stem}:{ident}"
                merged.append(region)
    return Regions(merged)


def survey_summary(mosaics, manifest, resumed, catalog):
    """One row per input mosaic: what happened to it."""
    records = [manifest.records[stem] for stem in mosaics]
    kept = Counter(catalog["mosaic"]) if len(catalog) else Counter()
    seconds = [np.nan if r["seconds"] is None else r["seconds"] for r in records]
    return QTable(
        {
            "mosaic": list(mosaics),
            "status": [r["status"] for r in records],
            "detections": np.array([r["n_detections"] for r in records], dtype=int),
            "kept": np.array([kept[stem] for stem in mosaics], dtype=int),
            "time": np.array(seconds, dtype=float) * u.s,
            "resumed": np.array([stem in resumed for stem in mosaics], dtype=bool),
            "reason": [r["reason"] for r in records],
        }
    )


def write_survey(outdir, catalog, regions, summary, matched):
    """Write the survey files atomically; return them by name."""
    tables = {"catalog": catalog, "summary": summary, "crossmatch": matched}
    files = {"manifest": outdir / SURVEY_FILES["manifest"]}
    for name, table in tables.items():
        if table is not None:
            files[name] = outdir / SURVEY_FILES[name]
            atomic_write(
                files[name], lambda tmp, t=table: t.write(tmp, format="ascii.ecsv", overwrite=True)
            )
    files["regions"] = outdir / SURVEY_FILES["regions"]
    atomic_write(files["regions"], lambda tmp: regions.write(tmp, format="ds9", overwrite=True))
    return files
