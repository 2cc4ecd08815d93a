"""Cross-matching detections with other catalogues (cluster catalogues, say).

Positions are found in any table by the usual column names (``RA``/``DEC``,
``RAJ2000``/``DEJ2000``, ``RAdeg``/``DEdeg``...), in degrees or sexagesimal.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table, hstack

__all__ = ["crossmatch_table", "read_catalogue", "sky_coordinates"]

_RA_NAMES = ("ra", "raj2000", "_raj2000", "ra_j2000", "radeg", "ra_deg", "ra_icrs", "alpha")
_DEC_NAMES = (
    "dec",
    "dej2000",
    "decj2000",
    "_dej2000",
    "dec_j2000",
    "dedeg",
    "dec_deg",
    "de_icrs",
    "dec_icrs",
    "delta",
)


def sky_coordinates(other, ra=None, dec=None):
    """Positions of a catalogue as a SkyCoord, with the catalogue as a Table.

    Parameters
    ----------
    other : `~astropy.table.Table` or `~astropy.coordinates.SkyCoord`
    ra, dec : str, optional
        Column names; found by name (``RA``, ``RAJ2000``, ``RAdeg``...) when
        omitted. Columns without an angular unit are taken as degrees.

    Returns
    -------
    coords : `~astropy.coordinates.SkyCoord`
    table : `~astropy.table.Table`
    """
    if isinstance(other, SkyCoord):
        return other, QTable({"ra": other.icrs.ra, "dec": other.icrs.dec})
    if not isinstance(other, Table):
        raise TypeError(
            f"cannot cross-match with a {type(other).__name__}; give a Table or a SkyCoord"
        )
    ra = ra or _find_column(other, _RA_NAMES, "RA")
    dec = dec or _find_column(other, _DEC_NAMES, "Dec")
    return SkyCoord(_degrees(other[ra]), _degrees(other[dec])), other


def read_catalogue(path):
    """Read a published catalogue (FITS, VOTable, ECSV...) as a Table.

    Published catalogues spell some units in ways astropy does not parse
    (PSZ2: ``'None'``, ``'degrees'``; MCXC: ``'10+14Msun'``); those columns
    are read without units instead of warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        return Table.read(path)


def crossmatch_table(detections, other, radius, *, ra=None, dec=None):
    """Match the rows of a table with a ``sky_centroid`` column to another catalogue.

    Each row is matched with the nearest entry of ``other`` within ``radius``
    (see :meth:`DetectionCatalog.crossmatch`).

    Returns
    -------
    `~astropy.table.QTable`
        The matched rows, the matched entries' columns (suffix ``_2`` on name
        clashes) and a ``separation`` column.
    """
    coords, table = sky_coordinates(other, ra, dec)
    if len(detections) and len(coords):
        index, separation, _ = detections["sky_centroid"].match_to_catalog_sky(coords)
        keep = separation <= radius
    else:
        index = np.zeros(len(detections), dtype=int)
        separation = np.zeros(len(detections)) * u.deg
        keep = np.zeros(len(detections), dtype=bool)
    matched = hstack(
        [detections[keep], _as_qtable(table[index[keep]] if len(table) else table[:0])],
        join_type="exact",
        table_names=["", "_2"],
        uniq_col_name="{col_name}{table_name}",
    )
    matched["separation"] = separation[keep].to(u.arcsec)
    return matched


def _as_qtable(table):
    """A QTable of another catalogue, dropping units that cannot apply.

    Published catalogues carry units such as ``None`` on text columns or
    spellings astropy does not know ('degrees', '10^14 Msol'); those columns
    stay plain columns instead of failing the conversion.
    """
    table = Table(table, copy=True)
    for column in table.itercols():
        unit = column.unit
        if unit is not None and (
            isinstance(unit, u.UnrecognizedUnit) or column.dtype.kind not in "iuf"
        ):
            column.unit = None
    return QTable(table)


def _find_column(table, candidates, what):
    lower = {name.lower(): name for name in table.colnames}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    raise ValueError(f"no {what} column found among {table.colnames}; pass ra=/dec= names")


def _degrees(column):
    unit = getattr(column, "unit", None)
    values = np.asarray(column, dtype=float)
    if unit is None or isinstance(unit, u.UnrecognizedUnit) or unit.physical_type != "angle":
        return values * u.deg
    return u.Quantity(values, unit)
