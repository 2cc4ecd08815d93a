"""The files of one image's detections: ``STEM.catalog.ecsv``, ``.regions.reg``, ...

``diffuseradio detect`` and :func:`~diffuseradio.survey.run_survey` write the
same set of files for each image (:func:`write_outputs`), all or none.
"""

import glob
import os
import shutil
import tempfile
from pathlib import Path

from ..plotting import write_overview

__all__ = [
    "OUTPUTS",
    "mosaic_stem",
    "output_paths",
    "write_outputs",
    "scratch_prefix",
    "remove_scratch",
]

#: Suffixes of the files written for each image: ``STEM.<suffix>``.
OUTPUTS = ("catalog.ecsv", "regions.reg", "mask.fits", "probability.fits")


def mosaic_stem(path):
    """The name outputs of an image are written under: its file name less ``.fits``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str

    Examples
    --------
    >>> mosaic_stem("/data/P205+55-mosaic.fits.gz")
    'P205+55-mosaic'
    """
    return Path(path).name.removesuffix(".gz").removesuffix(".fits").removesuffix(".fit")


def output_paths(outdir, stem, *, plot=True):
    """The files :func:`write_outputs` writes for one image.

    Parameters
    ----------
    outdir : str or os.PathLike
    stem : str
    plot : bool, optional
        Include the overview plot ``STEM.png``.

    Returns
    -------
    list of pathlib.Path
        ``STEM.catalog.ecsv``, ``STEM.regions.reg``, ``STEM.mask.fits``,
        ``STEM.probability.fits`` (and ``STEM.png``) in ``outdir``.
    """
    suffixes = OUTPUTS + ("png",) if plot else OUTPUTS
    return [Path(outdir) / f"{stem}.{suffix}" for suffix in suffixes]


def write_outputs(catalog, outdir, stem, *, plot=True):
    """Write a detection catalogue's files for one image, all or none.

    The catalogue (ECSV), the DS9 regions, the label mask and the
    probability map (see :meth:`~diffuseradio.DetectionCatalog.write_maps`),
    and optionally an overview plot, are written into a scratch folder inside
    ``outdir`` and then published: the previous run's files of the same
    names are removed, catalogue first, and the new ones renamed into place,
    catalogue last. A failure (or a killed process) never leaves a partial
    file under a final name nor a mix of two runs' files: a set of files
    without its catalogue is an interrupted one. Scratch folders that a
    killed run left for this stem are removed first.

    Parameters
    ----------
    catalog : `~diffuseradio.DetectionCatalog`
    outdir : str or os.PathLike
        An existing folder.
    stem : str
        Prefix of the file names (see :func:`mosaic_stem`).
    plot : bool, optional
        Also write ``STEM.png``, the image with the detections' outlines.

    Returns
    -------
    list of pathlib.Path
        The files written, as :func:`output_paths` lists them.
    """
    targets = output_paths(outdir, stem, plot=plot)
    remove_scratch(outdir, stem)
    with tempfile.TemporaryDirectory(dir=outdir, prefix=scratch_prefix(stem)) as scratch:
        scratch = Path(scratch)
        catalog.write(scratch / targets[0].name)
        catalog.write_regions(scratch / targets[1].name)
        catalog.write_maps(scratch / stem)
        if plot:
            write_overview(
                catalog,
                scratch / targets[4].name,
                title=f"{stem}: {len(catalog)} diffuse detections",
            )
        for target in output_paths(outdir, stem):  # the catalogue first
            target.unlink(missing_ok=True)
        for target in targets[1:] + targets[:1]:  # the catalogue last
            os.replace(scratch / target.name, target)
    return targets


def scratch_prefix(stem):
    """Prefix of the scratch folder :func:`write_outputs` makes in the output folder."""
    return f".{stem}.scratch-"


def remove_scratch(outdir, stem):
    """Remove the scratch folders a killed :func:`write_outputs` left for ``stem``."""
    for scratch in Path(outdir).glob(glob.escape(scratch_prefix(stem)) + "*"):
        shutil.rmtree(scratch, ignore_errors=True)
