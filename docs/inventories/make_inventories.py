"""Write the Sphinx inventories of the other projects the docs link to.

The docs are built without network access, so intersphinx cannot download
the inventories (``objects.inv``) of astropy, numpy, PyTorch and the others.
This script writes small local ones holding the objects diffuseradio's
documentation refers to, with their addresses in each project's documentation;
``conf.py`` points intersphinx at them. Run it after adding a reference to
an object not listed here (the nitpicky build names it)::

    python docs/inventories/make_inventories.py
"""

import zlib
from pathlib import Path

HERE = Path(__file__).parent

#: project: (base URL, {object: (role, its address relative to the base, ``$``
#: standing for the object's name; None for ``api/$.html#$``)}).
PROJECTS = {
    "astropy": (
        "https://docs.astropy.org/en/stable/",
        {
            "astropy.coordinates.SkyCoord": ("class", None),
            "astropy.coordinates.search_around_sky": ("function", None),
            "astropy.cosmology": ("module", "cosmology/index.html#module-$"),
            "astropy.cosmology.Cosmology": ("class", None),
            "astropy.io.fits.HDUList": ("class", "io/fits/api/hdulists.html#$"),
            "astropy.io.fits.Header": ("class", "io/fits/api/headers.html#$"),
            "astropy.io.fits.PrimaryHDU": ("class", "io/fits/api/images.html#$"),
            "astropy.nddata.NDData": ("class", None),
            "astropy.table.QTable": ("class", None),
            "astropy.table.table.QTable": (
                "class",
                "api/astropy.table.QTable.html#astropy.table.QTable",
            ),
            "astropy.table.QTable.write": ("method", "api/astropy.table.QTable.html#$"),
            "astropy.table.Table": ("class", None),
            "astropy.table.TableColumns": ("class", None),
            "astropy.units.Quantity": ("class", None),
            "astropy.units.quantity.Quantity": (
                "class",
                "api/astropy.units.Quantity.html#astropy.units.Quantity",
            ),
            "astropy.units.Unit": ("class", None),
            "astropy.units.UnitBase": ("class", None),
            "astropy.visualization.wcsaxes.WCSAxes": ("class", None),
            "astropy.wcs.WCS": ("class", None),
            "astropy.wcs.wcs.WCS": ("class", "api/astropy.wcs.WCS.html#astropy.wcs.WCS"),
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        {
            "numpy.ndarray": ("class", "reference/generated/$.html#$"),
            "numpy.dtype": ("class", "reference/generated/$.html#$"),
        },
    ),
    "torch": (
        "https://pytorch.org/docs/stable/",
        {
            "torch.device": ("class", "tensor_attributes.html#$"),
            "torch.dtype": ("class", "tensor_attributes.html#$"),
            "torch.nn.Module": ("class", "generated/$.html#$"),
            "torch.nn.modules.module.Module": (
                "class",
                "generated/torch.nn.Module.html#torch.nn.Module",
            ),
            "torch.optim.swa_utils.AveragedModel": ("class", "optim.html#$"),
            "torch.utils.data.Dataset": ("class", "data.html#$"),
            "torch.utils.data.dataset.Dataset": ("class", "data.html#torch.utils.data.Dataset"),
        },
    ),
    "radio_beam": (
        "https://radio-beam.readthedocs.io/en/latest/",
        {
            "radio_beam.Beam": ("class", None),
            "radio_beam.beam.Beam": ("class", "api/radio_beam.Beam.html#radio_beam.Beam"),
            "radio_beam.Beam.deconvolve": ("method", "api/radio_beam.Beam.html#$"),
        },
    ),
    "regions": (
        "https://astropy-regions.readthedocs.io/en/stable/",
        {
            "regions.Regions": ("class", None),
            "regions.PolygonSkyRegion": ("class", None),
        },
    ),
    "photutils": (
        "https://photutils.readthedocs.io/en/stable/",
        {"photutils.background.Background2D": ("class", None)},
    ),
    "reproject": (
        "https://reproject.readthedocs.io/en/stable/",
        {"reproject.reproject_interp": ("function", None)},
    ),
    "distributed": (
        "https://distributed.dask.org/en/stable/",
        {
            "distributed.Client": ("class", "api.html#$"),
            "distributed.LocalCluster": ("class", "api.html#$"),
        },
    ),
    "matplotlib": (
        "https://matplotlib.org/stable/",
        {
            "matplotlib.axes.Axes": ("class", "api/_as_gen/$.html#$"),
            "matplotlib.figure.Figure": ("class", "figure_api.html#$"),
        },
    ),
}


def inventory(project, objects):
    """The bytes of a Sphinx version-2 inventory."""
    lines = []
    for name, (role, page) in sorted(objects.items()):
        uri = (page or "api/$.html#$").replace("$", name)
        lines.append(f"{name} py:{role} 1 {uri} -")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    return header.encode() + zlib.compress("\n".join(lines).encode() + b"\n")


def main():
    for project, (_, objects) in PROJECTS.items():
        (HERE / f"{project}.inv").write_bytes(inventory(project, objects))


if __name__ == "__main__":
    main()
