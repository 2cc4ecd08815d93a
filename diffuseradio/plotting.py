"""Every figure of the package: detections on their image, the cluster gallery, ROC curves.

Images are drawn with WCSAxes in an asinh stretch in units of the image's
noise; figures written to files use :class:`matplotlib.figure.Figure`
directly (no pyplot state, safe in worker threads).
"""

import functools

import astropy.units as u
import numpy as np
from astropy.visualization import AsinhStretch, ImageNormalize

from .mosaic.reading import row_strips

__all__ = ["plot_detections", "write_overview", "plot_cluster_cutout", "plot_roc"]


#: Largest side, in pixels, of the image drawn: larger images are drawn from a
#: block average (the figure has far fewer pixels than a survey mosaic).
DISPLAY_PIXELS = 2000


def plot_detections(catalog, ax=None, *, stretch_sigma=(-2, 50), contour_levels=()):
    """Plot the image with the detections' outlines and ids, as a radio map.

    The image is drawn in mJy/beam (asinh stretch, with a colour bar), the
    detections' outlines are those of the mask (the catalogue's
    segmentation), each with its id; the beam is drawn in the lower left, a
    scale bar in the lower right. Images larger than ``DISPLAY_PIXELS``
    on a side are drawn from their average over blocks of pixels (the mask
    from its block maximum), on the image's own pixel coordinates.

    Parameters
    ----------
    catalog : `~diffuseradio.DetectionCatalog`
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes with the mosaic's WCS; a new figure is made when omitted.
    stretch_sigma : tuple of float, optional
        Display range in units of the rms (asinh stretch).
    contour_levels : tuple of float, optional
        Probability levels drawn as dashed contours besides the outlines
        (none by default).

    Returns
    -------
    `~astropy.visualization.wcsaxes.WCSAxes`
    """
    from matplotlib.lines import Line2D

    if ax is None:
        import matplotlib.pyplot as plt  # not needed (nor its start-up paid) to write a file

        fig = plt.figure(figsize=(7.5, 6.5))
        ax = fig.add_subplot(projection=catalog.mosaic.wcs)
    mosaic = catalog.mosaic
    rms = mosaic.rms.to_value(u.mJy / u.beam)
    norm = ImageNormalize(
        vmin=stretch_sigma[0] * rms, vmax=stretch_sigma[1] * rms, stretch=AsinhStretch(0.05)
    )
    ny, nx = mosaic.shape
    block = max(1, int(np.ceil(max(ny, nx) / DISPLAY_PIXELS)))
    extent = (-0.5, nx - 0.5, -0.5, ny - 0.5)
    image = _block_reduce(mosaic.data, block, "mean") * 1e3  # mJy/beam
    shown = ax.imshow(image, origin="lower", cmap="inferno", norm=norm, extent=extent)
    ax.figure.colorbar(shown, ax=ax, pad=0.02, fraction=0.046).set_label(r"mJy beam$^{-1}$")
    centres_y = (np.arange(-(-ny // block)) + 0.5) * block - 0.5
    centres_x = (np.arange(-(-nx // block)) + 0.5) * block - 0.5
    mask = (_block_reduce(catalog.segmentation, block, "max") > 0).astype(np.float32)
    if mask.any():
        ax.contour(centres_x, centres_y, mask, levels=[0.5], colors="cyan", linewidths=1.0)
    if contour_levels:
        probability = (
            catalog.probability
            if catalog.probability.ndim == 2
            else np.nansum(catalog.probability, axis=0)
        )
        probability = np.nan_to_num(_block_reduce(probability, block, "max"))
        ax.contour(
            centres_x,
            centres_y,
            probability,
            levels=list(contour_levels),
            colors="white",
            linewidths=0.6,
            linestyles="dashed",
        )
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    for row in catalog.table:
        x, y = _label_position(catalog.segmentation, row)
        ax.text(x, y, str(row["id"]), color="white", fontsize=9, ha="center", va="center")
    _add_beam_and_scale(ax, mosaic)
    handles = [Line2D([], [], color="cyan", label=f"detections ({len(catalog.table)})")]
    if contour_levels:
        levels = ", ".join(f"{level:g}" for level in contour_levels)
        handles.append(
            Line2D([], [], color="white", ls="--", lw=0.6, label=f"probability {levels}")
        )
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_xlabel("Right Ascension")
    ax.set_ylabel("Declination")
    return ax


def _label_position(segmentation, row):
    """Where a detection's id is written: its centroid, or its pixel nearest
    the centroid when the centroid lies outside it (an arc-shaped relic)."""
    x, y = row["x_centroid"].value, row["y_centroid"].value
    iy, ix = int(round(y)), int(round(x))
    if segmentation[iy, ix] == row["id"]:
        return x, y
    ys, xs = np.nonzero(segmentation == row["id"])
    nearest = np.argmin((ys - y) ** 2 + (xs - x) ** 2)
    return float(xs[nearest]), float(ys[nearest])


def _add_beam_and_scale(ax, mosaic):
    """The restoring beam (lower left) and a scale bar of a round angle (lower right)."""
    from astropy.visualization.wcsaxes import add_beam, add_scalebar

    beam = mosaic.beam
    add_beam(
        ax,
        major=beam.major,
        minor=beam.minor,
        angle=beam.pa,
        frame=False,
        facecolor="white",
        edgecolor="white",
    )
    length = _round_angle(mosaic.shape[1] * mosaic.pixel_scale / 5)
    label = f"{length.value:g}{_ANGLE_SYMBOLS[length.unit]}"
    add_scalebar(ax, length, label=label, color="white", corner="bottom right")


_ANGLE_SYMBOLS = {u.deg: "°", u.arcmin: "′", u.arcsec: "″"}


def _round_angle(angle):
    """The largest of 1, 2 or 5 times a power of ten, in arcsec, arcmin or deg, under ``angle``."""
    angle = angle.to(u.arcsec)
    unit = u.deg if angle >= 1 * u.deg else u.arcmin if angle >= 1 * u.arcmin else u.arcsec
    value = angle.to_value(unit)
    power = 10 ** np.floor(np.log10(value))
    step = max(m for m in (1, 2, 5) if m * power <= value)
    return step * power * unit


def _block_combine(values, block, combine):
    """``combine`` (a ufunc) over ``block x block`` blocks of an array whose sides are multiples."""
    rows = functools.reduce(combine, (values[k::block] for k in range(block)))
    return functools.reduce(combine, (rows[:, k::block] for k in range(block)))


def _block_reduce(data, block, how, rows=1024):
    """Mean or maximum of the finite pixels of ``block x block`` blocks, a strip at a time.

    Edge blocks are partial; a block with no finite pixel is NaN. ``how`` is
    ``"mean"`` or ``"max"``.
    """
    if block == 1:
        return np.asarray(data, dtype=np.float32)
    ny, nx = data.shape
    out = np.empty((-(-ny // block), -(-nx // block)), np.float32)
    fill = {"mean": 0.0, "max": -np.inf}[how]
    combine = np.add if how == "mean" else np.maximum
    for start, strip in row_strips(data, max(block, rows // block * block)):
        finite = np.isfinite(strip)
        pad = ((0, -strip.shape[0] % block), (0, -nx % block))
        values = np.pad(np.where(finite, strip, np.float32(fill)), pad, constant_values=fill)
        counts = _block_combine(np.pad(finite, pad).astype(np.float32), block, np.add)
        reduced = _block_combine(values, block, combine)
        with np.errstate(invalid="ignore", divide="ignore"):
            reduced = reduced / counts if how == "mean" else np.where(counts > 0, reduced, np.nan)
        out[start // block : start // block + reduced.shape[0]] = reduced
    return out


def write_overview(catalog, path, *, title=None):
    """Write the overview figure of a detection catalogue (PNG): :func:`plot_detections`.

    Parameters
    ----------
    catalog : `~diffuseradio.DetectionCatalog`
    path : str or os.PathLike
        The image file (its suffix chooses the format).
    title : str, optional
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 6.5))
    ax = plot_detections(catalog, figure.add_subplot(projection=catalog.mosaic.wcs))
    if title:
        ax.set_title(title)
    figure.savefig(path, dpi=110, bbox_inches="tight")


def plot_cluster_cutout(catalog, probability, labels, cluster, row):
    """Image (asinh stretch), probability contours, R500 circle, detections."""
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


def plot_roc(validation, ax=None, *, label=None):
    """Plot the ROC curve with the operating and best-accuracy thresholds marked.

    Parameters
    ----------
    validation : ScoreValidation
        From :func:`~diffuseradio.clusters.validate_scores`.
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
