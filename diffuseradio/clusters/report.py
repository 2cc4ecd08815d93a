"""What cluster mode writes: per-cluster products, the tables, DS9 regions and the HTML gallery.

Every file is written under a temporary name and renamed; a cluster's row
file goes last and marks it done, so a rerun resumes.
"""

import html
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable

from ..atomic import atomic_write
from ..plotting import plot_cluster_cutout
from .columns import NOT_COVERED, decode_cluster_flags

__all__ = ["cluster_paths", "write_cluster", "read_done", "write_summary"]


def cluster_paths(outdir, key):
    folder = Path(outdir) / "clusters"
    return {
        "row": folder / f"{key}.row.ecsv",
        "detections": folder / f"{key}.detections.ecsv",
        "probability": folder / f"{key}.probability.fits",
        "regions": folder / f"{key}.reg",
        "png": folder / f"{key}.png",
    }


def write_cluster(outdir, cluster, row, detections, catalog, probability):
    """Write the cluster's products; the row file goes last and marks it done."""
    paths = cluster_paths(outdir, cluster.key)
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
    figure = plot_cluster_cutout(catalog, probability, sorted(labels), cluster, row)
    atomic_write(paths["png"], lambda tmp: figure.savefig(tmp, dpi=80, bbox_inches="tight"))
    _write_table(row, paths["row"])


def _write_table(table, path):
    atomic_write(path, lambda tmp: table.write(tmp, format="ascii.ecsv", overwrite=True))


def read_done(outdir, cluster):
    """The saved row and detections of a cluster done in an earlier run, or None."""
    paths = cluster_paths(outdir, cluster.key)
    if not paths["row"].exists():
        return None
    return QTable.read(paths["row"]), QTable.read(paths["detections"])


def write_summary(outdir, table, detections, keys):
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
        path = cluster_paths(outdir, key)["regions"]
        if path.exists():
            regions.extend(Regions.read(path, format="ds9"))
    target = Path(outdir) / "detections.reg"
    atomic_write(target, lambda tmp: Regions(regions).write(tmp, format="ds9", overwrite=True))


def _gallery_html(table, keys):
    """One HTML page: a row per covered cluster, thumbnail linking to its PNG."""
    rows = []
    for row, key in zip(table, keys):
        if row["flags"] & NOT_COVERED:
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
