"""Cross-matching detections with other catalogues (cluster catalogues, say).

Positions are found in any table by the usual column names (``RA``/``DEC``,
``RAJ2000``/``DEJ2000``, ``RAdeg``/``DEdeg``...), in degrees or sexagesimal.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord, search_around_sky
from astropy.table import MaskedColumn, QTable, Table, hstack
from astropy.utils.masked import Masked

__all__ = ["JOINS", "crossmatch_table", "read_catalogue", "sky_coordinates"]

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

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    `~astropy.table.Table`

    Raises
    ------
    ValueError
        If the file is not a table astropy can read.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        try:
            table = Table.read(path)
        except FileNotFoundError:
            raise
        except Exception as err:  # astropy's format guessing raises many kinds
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(
                f"cannot read {path} as a catalogue (FITS, VOTable, ECSV, CSV...): {reason}"
            ) from None
    for column in table.itercols():
        if isinstance(column.unit, u.UnrecognizedUnit):
            column.unit = None
    return table


#: How :func:`crossmatch_table` pairs detections with catalogue entries.
JOINS = ("nearest", "left", "all")


def crossmatch_table(detections, other, radius, *, ra=None, dec=None, join="nearest"):
    """Match the rows of a table with a ``sky_centroid`` column to another catalogue.

    See :meth:`DetectionCatalog.crossmatch <diffuseradio.DetectionCatalog.crossmatch>`.

    Returns
    -------
    `~astropy.table.QTable`
        Detections, the matched entries' columns (suffix ``_2`` on name
        clashes) and a ``separation`` column, as ``join`` says.
    """
    if join not in JOINS:
        raise ValueError(f"join must be one of {', '.join(JOINS)}, not {join!r}")
    coords, table = sky_coordinates(other, ra, dec)
    entries = _as_qtable(table)
    both = len(detections) and len(coords)
    if join == "all":
        if both:
            mine, theirs, separation, _ = search_around_sky(
                detections["sky_centroid"], coords, radius
            )
            order = np.lexsort((separation.value, mine))
            mine, theirs, separation = mine[order], theirs[order], separation[order]
        else:
            mine = theirs = np.zeros(0, dtype=int)
            separation = np.zeros(0) * u.deg
        return _side_by_side(detections[mine], entries[theirs], separation)
    if both:
        index, separation, _ = detections["sky_centroid"].match_to_catalog_sky(coords)
        keep = separation <= radius
    else:
        index = np.zeros(len(detections), dtype=int)
        separation = np.zeros(len(detections)) * u.deg
        keep = np.zeros(len(detections), dtype=bool)
    if join == "nearest":
        matched = entries[index[keep]] if len(entries) else entries[:0]
        return _side_by_side(detections[keep], matched, separation[keep])
    # left: every detection, the entries' columns masked where none is within radius
    matched = entries[index] if len(entries) else _masked_rows(entries, len(detections))
    matched = QTable(matched, masked=True)
    for column in matched.itercols():
        column.mask[~keep] = True
    return _side_by_side(detections, matched, Masked(separation, mask=~keep))


def _side_by_side(detections, entries, separation):
    matched = hstack(
        [detections, entries],
        join_type="exact",
        table_names=["", "_2"],
        uniq_col_name="{col_name}{table_name}",
    )
    matched["separation"] = separation.to(u.arcsec)
    return matched


def _masked_rows(entries, count):
    """``count`` rows of an empty catalogue's columns, all masked."""
    columns = {}
    for name in entries.colnames:
        column = entries[name]
        values = np.zeros((count, *column.shape[1:]), dtype=column.dtype)
        mask = np.ones(values.shape, dtype=bool)
        if isinstance(column, u.Quantity):
            columns[name] = Masked(u.Quantity(values, column.unit), mask=mask)
        else:
            columns[name] = MaskedColumn(values, mask=mask)
    return QTable(columns)


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
