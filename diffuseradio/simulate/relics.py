"""Radio relics: arcs of shock-accelerated emission at cluster peripheries.

Relics trace merger shocks seen edge-on (van Weeren et al. 2019, SSRv 215,
16): elongated (0.2-2 Mpc), arc-shaped and curved around the cluster centre,
with a sharp outer (upstream) edge and a brightness that fades towards the
cluster as the electrons age downstream. High-resolution images (e.g. the
Toothbrush, CIZA J2242.8+5301, Abell 2256) show filaments along the shock
front, modelled here with an anisotropic random field stretched along the arc.
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from .beam import direction
from .component import Component, angular_size, lognormal, random_field

__all__ = ["RadioRelic"]


class RadioRelic(Component):
    """An arc-shaped relic with a sharp outer edge and filamentary substructure.

    Geometry: the arc is a piece of a circle of radius ``curvature_radius``
    whose centre lies behind the relic, towards the cluster; the relic's
    position is the midpoint of its outer edge and ``position_angle`` is the
    outward normal there (the direction from the cluster centre to the
    relic). In arc coordinates (``s`` along the edge, ``t`` outwards from it)
    the brightness is::

        I(s, t) = sqrt(1 - (2 s / length)^2) * exp(t / width)          t <= 0
                = sqrt(1 - (2 s / length)^2) * exp(-(t / edge_width)^2 / 2)  t > 0

    with ``edge_width = edge * width`` (a shock front unresolved by most
    surveys), times the log-normal filament field.

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Integrated flux density.
    length : `~astropy.units.Quantity`
        Arc length along the edge (largest size): angle or length (with
        ``redshift``).
    width : `~astropy.units.Quantity`
        Downstream e-folding width (angle or length).
    curvature_radius : `~astropy.units.Quantity`, optional
        Radius of the arc (default ``length``); at least ``length / pi``.
    position_angle : `~astropy.units.Quantity`, optional
        Outward normal, east of north.
    redshift : float, optional
        Needed for physical sizes.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck 2018.
    edge : float, optional
        Width of the outer edge in units of ``width``.
    filaments : float, optional
        Standard deviation of the log-brightness of the filaments (0 = smooth).
    filament_stretch : float, optional
        Length-to-width ratio of the filaments.
    seed : int, optional
        Seed of the substructure.

    Examples
    --------
    >>> import astropy.units as u
    >>> relic = RadioRelic(30 * u.mJy, length=1 * u.Mpc, width=80 * u.kpc, redshift=0.1)
    >>> relic.angular_size.round(0)
    <Quantity 525. arcsec>
    """

    kind = "relic"
    truth_class = 2

    def __init__(
        self,
        flux_density,
        *,
        length,
        width,
        curvature_radius=None,
        position_angle=0 * u.deg,
        redshift=None,
        cosmology=Planck18,
        edge=0.1,
        filaments=0.5,
        filament_stretch=5.0,
        seed=None,
    ):
        super().__init__(flux_density, seed=seed)
        self.redshift = redshift
        self.length = angular_size(length, redshift, cosmology)
        self.width = angular_size(width, redshift, cosmology)
        radius = length if curvature_radius is None else curvature_radius
        self.curvature_radius = angular_size(radius, redshift, cosmology)
        # (a relative tolerance absorbs the rounding of the unit conversions)
        if self.curvature_radius < self.length / np.pi * (1 - 1e-9):
            raise ValueError("curvature_radius must be at least length / pi (a half circle)")
        self.position_angle = u.Quantity(position_angle, u.deg)
        self.edge = float(edge)
        self.filaments = float(filaments)
        self.filament_stretch = float(filament_stretch)

    @property
    def angular_size(self):
        """Arc length, arcsec."""
        return self.length

    def _half_size(self, scale):
        extent = self.length / 2 + 6 * self.width
        return int(np.ceil(extent.to_value(u.arcsec) / scale)) + 1

    def _brightness(self, x, y, scale, rng):
        length, width, radius = (
            q.to_value(u.arcsec) / scale for q in (self.length, self.width, self.curvature_radius)
        )
        pa = self.position_angle.to_value(u.rad)
        nx, ny = direction(pa)
        # Offsets from the centre of curvature, which sits `radius` behind the edge.
        cx, cy = x + radius * nx, y + radius * ny
        t = np.hypot(cx, cy) - radius
        s = radius * np.arctan2(cx * ny - cy * nx, cx * nx + cy * ny)
        along = np.sqrt(np.clip(1.0 - (2.0 * s / length) ** 2, 0.0, None))
        edge_width = max(self.edge * width, 0.5)
        across = np.where(
            t <= 0, np.exp(np.minimum(t, 0) / width), np.exp(-0.5 * (t / edge_width) ** 2)
        )
        brightness = along * across
        if self.filaments > 0:
            field = random_field(
                brightness.shape,
                rng,
                slope=3.0,
                outer_scale=length / 2,
                stretch=self.filament_stretch,
                angle=pa + np.pi / 2,
            )
            brightness = brightness * lognormal(field, self.filaments)
        return brightness
