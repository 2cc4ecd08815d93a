"""Resolved radio galaxies: the extended confusers a detector must reject.

Each radio galaxy is a set of elliptical Gaussian blobs (core, jets, lobes,
hotspots, tails) laid out at construction from the component's seed, with an
optional log-normal texture. The morphologies follow the classic types
(Fanaroff & Riley 1974; review by Hardcastle & Croston 2020, NewAR 88,
101539): edge-darkened FRI jets and plumes, edge-brightened FRII lobes with
hotspots, head-tail / bent-tail galaxies swept back by the intracluster
medium, and remnant (dying) radio galaxies whose faint, amorphous lobes with
no core or hotspots resemble halos and relics (Brienza et al. 2017;
Jurlin et al. 2021, LoTSS).
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from .beam import direction
from .component import Component, angular_size, lognormal, random_field

__all__ = ["RadioGalaxy", "FRI", "FRII", "HeadTail", "RemnantRadioGalaxy"]

#: Smallest blob sigma rendered, in pixels (smaller blobs are unresolved anyway).
_MIN_SIGMA = 0.6


class RadioGalaxy(Component):
    """Base class of radio galaxies built from Gaussian blobs.

    Subclasses implement ``_layout(rng, size)`` returning the blobs as arrays
    ``(x, y, sigma_major, sigma_minor, position_angle, weight)``: offsets
    (arcsec, pixel orientation: ``x`` west, ``y`` north) from the host
    galaxy, sigmas in arcsec, position angles in radians east of north and
    relative weights (fractions of the flux before texture).

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Integrated flux density.
    size : `~astropy.units.Quantity`
        Largest size: an angle, or a projected length with ``redshift``.
    position_angle : `~astropy.units.Quantity`, optional
        Position angle of the main axis, east of north.
    redshift : float, optional
        Needed for a physical size.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck 2018.
    texture : float, optional
        Standard deviation of a log-normal brightness texture (0 = none).
    seed : int, optional
        Seed of the layout and the texture.
    """

    def __init__(
        self,
        flux_density,
        *,
        size,
        position_angle=0 * u.deg,
        redshift=None,
        cosmology=Planck18,
        texture=0.0,
        seed=None,
    ):
        super().__init__(flux_density, seed=seed)
        self.redshift = redshift
        self.size = angular_size(size, redshift, cosmology)
        self.position_angle = u.Quantity(position_angle, u.deg)
        self.texture = float(texture)
        self._blobs = None

    @property
    def angular_size(self):
        """Largest angular size, arcsec."""
        return self.size

    @property
    def blobs(self):
        """The Gaussian blobs ``(x, y, sigma_major, sigma_minor, pa, weight)``."""
        if self._blobs is None:
            rng = np.random.default_rng([self.seed, 1])
            self._blobs = tuple(
                np.asarray(v, dtype=np.float64)
                for v in self._layout(rng, self.size.to_value(u.arcsec))
            )
        return self._blobs

    def _half_size(self, scale):
        x, y, major, _, _, _ = self.blobs
        extent = np.max(
            np.maximum(np.abs(x), np.abs(y)) + 4 * np.maximum(major, _MIN_SIGMA * scale)
        )
        return int(np.ceil(extent / scale)) + 1

    def _brightness(self, x, y, scale, rng):
        brightness = np.zeros((y.shape[0], x.shape[1]))
        for bx, by, major, minor, pa, weight in zip(*self.blobs):
            _paint(
                brightness,
                x[0],
                y[:, 0],
                bx / scale,
                by / scale,
                max(major / scale, _MIN_SIGMA),
                max(minor / scale, _MIN_SIGMA),
                pa,
                weight,
            )
        if self.texture > 0:
            outer = self.size.to_value(u.arcsec) / scale / 4
            brightness *= lognormal(
                random_field(brightness.shape, rng, outer_scale=outer), self.texture
            )
        return brightness

    def _axis(self, extra=0.0):
        """Unit vector of the main axis turned by ``extra`` radians."""
        return direction(self.position_angle.to_value(u.rad) + extra)


class FRII(RadioGalaxy):
    """An edge-brightened (Fanaroff-Riley II) radio galaxy.

    A faint core, two lobes elongated along the axis and a compact hotspot
    at the end of each; the two arms differ in length, brightness and
    direction (a small bend).

    Parameters
    ----------
    flux_density, size, position_angle, redshift, cosmology, texture, seed
        See :class:`RadioGalaxy`.
    core_fraction : float, optional
        Fraction of the flux in the core.
    hotspot_fraction : float, optional
        Fraction of the flux in the two hotspots.
    lobe_width : float, optional
        Lobe sigma across the axis, as a fraction of ``size``.

    Examples
    --------
    >>> import astropy.units as u
    >>> frii = FRII(200 * u.mJy, size=120 * u.arcsec, position_angle=45 * u.deg, seed=1)
    >>> stamp = frii.sky_model(1.5 * u.arcsec)
    >>> round(float(stamp.data.sum()), 6)
    0.2
    """

    kind = "frii"

    def __init__(
        self,
        flux_density,
        *,
        core_fraction=0.02,
        hotspot_fraction=0.25,
        lobe_width=0.08,
        texture=0.15,
        **kwargs,
    ):
        self.core_fraction = float(core_fraction)
        self.hotspot_fraction = float(hotspot_fraction)
        self.lobe_width = float(lobe_width)
        super().__init__(flux_density, texture=texture, **kwargs)

    def _layout(self, rng, size):
        blobs = [(0.0, 0.0, 0.5, 0.5, 0.0, self.core_fraction)]
        asymmetry = rng.uniform(0.75, 1.0)
        brightness = rng.uniform(0.5, 1.0)
        lobes = (1.0 - self.core_fraction - self.hotspot_fraction) / (1 + brightness)
        hotspots = self.hotspot_fraction / (1 + brightness)
        for side, arm, share in ((0, 1.0, 1.0), (np.pi, asymmetry, brightness)):
            arm_length = size * arm / (1 + asymmetry)
            angle = self.position_angle.to_value(u.rad) + side + rng.normal(0, np.radians(6))
            dx, dy = direction(angle)
            tip = 0.96 * arm_length
            blobs.append((tip * dx, tip * dy, 0.012 * size, 0.008 * size, angle, hotspots * share))
            for t in np.linspace(0.45, 0.9, 6):
                weight = lobes * share * t / np.linspace(0.45, 0.9, 6).sum()
                blobs.append(
                    (
                        t * arm_length * dx,
                        t * arm_length * dy,
                        0.07 * size,
                        self.lobe_width * size * (0.6 + 0.5 * t),
                        angle,
                        weight,
                    )
                )
        return tuple(zip(*blobs))


class FRI(RadioGalaxy):
    """An edge-darkened (Fanaroff-Riley I) radio galaxy.

    A bright core and two jets that widen and fade away from it into
    plumes; the jets bend (both the same way, as in wide-angle tails, or in
    opposite directions, S-shaped).

    Parameters
    ----------
    flux_density, size, position_angle, redshift, cosmology, texture, seed
        See :class:`RadioGalaxy`.
    core_fraction : float, optional
        Fraction of the flux in the core.
    bend : `~astropy.units.Quantity`, optional
        Total change of jet direction from core to tip.
    """

    kind = "fri"

    def __init__(self, flux_density, *, core_fraction=0.1, bend=20 * u.deg, texture=0.15, **kwargs):
        self.core_fraction = float(core_fraction)
        self.bend = u.Quantity(bend, u.deg)
        super().__init__(flux_density, texture=texture, **kwargs)

    def _layout(self, rng, size):
        blobs = [(0.0, 0.0, 0.5, 0.5, 0.0, self.core_fraction)]
        s_shaped = rng.random() < 0.5
        t = np.linspace(0.04, 1.0, 14)
        weights = np.exp(-t / 0.35)
        weights *= (1.0 - self.core_fraction) / (2 * weights.sum())
        for side, sign in ((0.0, 1.0), (np.pi, -1.0 if s_shaped else 1.0)):
            angles = (
                self.position_angle.to_value(u.rad) + side + sign * self.bend.to_value(u.rad) * t**2
            )
            dx, dy = direction(angles)
            step = size / 2 / t.size
            x, y = np.cumsum(step * dx), np.cumsum(step * dy)
            for i in range(t.size):
                width = size * (0.01 + 0.09 * t[i])
                blobs.append((x[i], y[i], max(width, step), width, angles[i], weights[i]))
        return tuple(zip(*blobs))


class HeadTail(RadioGalaxy):
    """A head-tail (narrow-angle tail) radio galaxy in a cluster.

    A compact, bright head and two tails that leave it with a small opening
    angle, bend along a curved path, widen and fade.

    Parameters
    ----------
    flux_density, size, position_angle, redshift, cosmology, texture, seed
        See :class:`RadioGalaxy`; ``position_angle`` is the initial direction
        of the tails and ``size`` their length.
    head_fraction : float, optional
        Fraction of the flux in the head.
    bend : `~astropy.units.Quantity`, optional
        Change of tail direction from head to end.
    opening : `~astropy.units.Quantity`, optional
        Angle between the two tails where they leave the head.
    """

    kind = "headtail"

    def __init__(
        self,
        flux_density,
        *,
        head_fraction=0.3,
        bend=40 * u.deg,
        opening=20 * u.deg,
        texture=0.2,
        **kwargs,
    ):
        self.head_fraction = float(head_fraction)
        self.bend = u.Quantity(bend, u.deg)
        self.opening = u.Quantity(opening, u.deg)
        super().__init__(flux_density, texture=texture, **kwargs)

    def _layout(self, rng, size):
        blobs = [(0.0, 0.0, 0.6, 0.6, 0.0, self.head_fraction)]
        t = np.linspace(0.03, 1.0, 18)
        weights = np.exp(-t / 0.45)
        weights *= (1.0 - self.head_fraction) / (2 * weights.sum())
        converge = np.exp(-t / 0.3)
        for sign in (-1.0, 1.0):
            angles = (
                self.position_angle.to_value(u.rad)
                + self.bend.to_value(u.rad) * t**1.5
                + sign * self.opening.to_value(u.rad) / 2 * converge
            )
            dx, dy = direction(angles)
            step = size / t.size
            x, y = np.cumsum(step * dx), np.cumsum(step * dy)
            for i in range(t.size):
                width = size * (0.008 + 0.05 * t[i])
                blobs.append((x[i], y[i], max(width, step), width, angles[i], weights[i]))
        return tuple(zip(*blobs))


class RemnantRadioGalaxy(RadioGalaxy):
    """A remnant (dying) radio galaxy: faint amorphous lobes, no hotspots.

    Once the jets switch off, the lobes expand and fade: what is left are one
    to three broad, irregular patches of low surface brightness with no
    hotspots and at most a faint core. These are the radio galaxies most
    easily mistaken for halos and relics.

    Parameters
    ----------
    flux_density, size, position_angle, redshift, cosmology, texture, seed
        See :class:`RadioGalaxy`.
    core_fraction : float, optional
        Fraction of the flux in a residual core (0 = none).
    """

    kind = "remnant"

    def __init__(self, flux_density, *, core_fraction=0.0, texture=0.5, **kwargs):
        self.core_fraction = float(core_fraction)
        super().__init__(flux_density, texture=texture, **kwargs)

    def _layout(self, rng, size):
        blobs = [(0.0, 0.0, 0.5, 0.5, 0.0, self.core_fraction)]
        count = rng.integers(1, 4)
        weights = rng.uniform(0.5, 1.0, count)
        weights *= (1.0 - self.core_fraction) / weights.sum()
        for i in range(count):
            angle = self.position_angle.to_value(u.rad) + (np.pi if i % 2 else 0.0)
            angle += rng.normal(0, 0.4)
            distance = size * rng.uniform(0.1, 0.3)
            dx, dy = direction(angle)
            blobs.append(
                (
                    distance * dx,
                    distance * dy,
                    size * rng.uniform(0.12, 0.2),
                    size * rng.uniform(0.07, 0.12),
                    angle + rng.normal(0, 0.5),
                    weights[i],
                )
            )
        return tuple(zip(*blobs))


def _paint(image, x, y, cx, cy, major, minor, pa, weight):
    """Add a normalised elliptical Gaussian on its +-4 sigma box (in place)."""
    if weight <= 0:
        return
    reach = 4.0 * major
    columns = slice(np.searchsorted(x, cx - reach), np.searchsorted(x, cx + reach))
    rows = slice(np.searchsorted(y, cy - reach), np.searchsorted(y, cy + reach))
    dx = x[columns][None, :] - cx
    dy = y[rows][:, None] - cy
    ux, uy = direction(pa)
    along = dx * ux + dy * uy
    across = dx * uy - dy * ux
    values = np.exp(-0.5 * ((along / major) ** 2 + (across / minor) ** 2))
    total = values.sum()
    if total > 0:
        image[rows, columns] += weight * values / total
