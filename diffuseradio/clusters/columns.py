"""Reading cluster catalogues: positions, names, redshifts, R500 and M500 by column name.

Planck PSZ2, MCXC or any table with positions (and, for physical boxes,
redshifts) work as they are: columns are found by their usual names,
units astropy does not understand are taken as the catalogues mean them.
"""

import re
import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.cosmology import Planck18

from ..catalog import decode_flags, sky_coordinates
from ..exceptions import DiffuseRadioWarning
from .physics import r500_from_m500

__all__ = [
    "Cluster",
    "read_clusters",
    "CLUSTER_FLAGS",
    "decode_cluster_flags",
    "NOT_COVERED",
    "PARTLY_BLANKED",
    "NOISY",
    "NO_REDSHIFT",
    "R500_ASSUMED",
    "FAILED",
]


#: Cluster flags: bit value -> meaning. Combine with ``|``; see :func:`decode_cluster_flags`.
CLUSTER_FLAGS = {
    1: "not covered: outside every mosaic (or on blanked pixels)",
    2: "partly blanked: part of the box is blanked or outside the mosaic",
    4: "noise above max_rms",
    8: "redshift unknown: angular box, no physical quantities",
    16: "no R500 or M500: R500 = 1 Mpc assumed",
    32: "failed: an error stopped its classification (logged); a rerun tries again",
}


#: The bits of :data:`CLUSTER_FLAGS`, by name.
NOT_COVERED, PARTLY_BLANKED, NOISY, NO_REDSHIFT, R500_ASSUMED, FAILED = CLUSTER_FLAGS


#: R500 used when a cluster has neither an R500 nor an M500.
_DEFAULT_R500 = 1.0 * u.Mpc


#: Units assumed for catalogue columns without a usable unit (PSZ2, MCXC).
_MASS_UNIT = 1e14 * u.Msun

_NAME_COLUMNS = ("name", "mcxc", "cluster", "cluster_name", "id")


_REDSHIFT_COLUMNS = ("redshift", "z", "zspec", "z_spec", "zbest")


_R500_COLUMNS = ("r500", "r500c", "r_500")


_M500_COLUMNS = ("m500", "msz", "m500c", "m_500")


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


@dataclass(frozen=True)
class Cluster:
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


def read_clusters(table, columns, box_size, fallback_box_size, aperture, cosmology=None):
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
    r500[from_mass] = r500_from_m500(m500[from_mass], redshift[from_mass], cosmology)
    assumed = ~(r500 > 0) & known
    r500[assumed] = _DEFAULT_R500
    r500[~(r500 > 0)] = np.nan
    m500[~(m500 > 0)] = np.nan
    per_arcmin = np.full(n, np.nan) * u.kpc / u.arcmin
    if known.any():
        per_arcmin[known] = (cosmology or Planck18).kpc_proper_per_arcmin(redshift[known])
    r500_angle = (r500 / per_arcmin).to(u.arcmin)
    box = _box_sizes(box_size, fallback_box_size, per_arcmin, known)
    radius = np.where(known, aperture * r500_angle, box / 2)
    flags = np.where(known, 0, NO_REDSHIFT) | np.where(assumed, R500_ASSUMED, 0)
    names = _names(table, columns["name"])
    keys = _keys(names)
    clusters = [
        Cluster(
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
