"""Radio bridges and cosmic-web filaments: faint emission between clusters.

Bridges connect pairs of merging clusters over a few Mpc (Abell 399-401,
Govoni et al. 2019; Abell 1758, Botteon et al. 2020) at surface brightnesses
of ~0.1-1 uJy/arcsec^2 at 144 MHz, below what most single observations reach
per beam; filaments of the cosmic web are longer and fainter still
(Vernstrom et al. 2021). Both are modelled as a patchy ribbon: flat along the
axis with soft ends, Gaussian across it.
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from .component import Component, angular_size, lognormal, random_field

__all__ = ["Bridge", "Filament"]

#: Softness of the ribbon's ends, as a fraction of its length.
_END_SOFTNESS = 0.04


class Bridge(Component):
    """A bridge of diffuse emission between two clusters.

    The brightness is ``f(a) * exp(-b^2 / (2 sigma^2))`` for offsets ``a``
    along and ``b`` across the axis, with ``sigma = width / 2.3548`` (``width``
    is the FWHM) and ``f(a) = 1 / (1 + exp((|a| - length / 2) / (0.04
    length)))`` a plateau with soft ends, times a log-normal Kolmogorov
    random field of standard deviation ``turbulence``.

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Integrated flux density.
    length : `~astropy.units.Quantity`
        Distance between the ends (angle, or length with ``redshift``).
    width : `~astropy.units.Quantity`
        FWHM across the axis.
    position_angle : `~astropy.units.Quantity`, optional
        Position angle of the axis, east of north.
    redshift : float, optional
        Needed for physical sizes.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck 2018.
    turbulence : float, optional
        Standard deviation of the log-brightness fluctuations.
    seed : int, optional
        Seed of the substructure.

    Examples
    --------
    >>> import astropy.units as u
    >>> bridge = Bridge(10 * u.mJy, length=2 * u.Mpc, width=500 * u.kpc, redshift=0.07)
    >>> bridge.kind, bridge.truth_class, bridge.angular_size.round(0)
    ('bridge', 3, <Quantity 1447. arcsec>)
    """

    kind = "bridge"
    truth_class = 3

    def __init__(
        self,
        flux_density,
        *,
        length,
        width,
        position_angle=0 * u.deg,
        redshift=None,
        cosmology=Planck18,
        turbulence=0.5,
        seed=None,
    ):
        super().__init__(flux_density, seed=seed)
        self.redshift = redshift
        self.length = angular_size(length, redshift, cosmology)
        self.width = angular_size(width, redshift, cosmology)
        self.position_angle = u.Quantity(position_angle, u.deg)
        self.turbulence = float(turbulence)

    @property
    def angular_size(self):
        """Length of the axis, arcsec."""
        return self.length

    def _half_size(self, scale):
        extent = max(self.length * (0.5 + 6 * _END_SOFTNESS), 2 * self.width)
        return int(np.ceil(extent.to_value(u.arcsec) / scale)) + 1

    def _brightness(self, x, y, scale, rng):
        length = self.length.to_value(u.arcsec) / scale
        sigma = self.width.to_value(u.arcsec) / scale / np.sqrt(8 * np.log(2))
        pa = self.position_angle.to_value(u.rad)
        along = -x * np.sin(pa) + y * np.cos(pa)
        across = x * np.cos(pa) + y * np.sin(pa)
        plateau = 0.5 * (1.0 - np.tanh((np.abs(along) - length / 2) / (2 * _END_SOFTNESS * length)))
        brightness = plateau * np.exp(-0.5 * (across / sigma) ** 2)
        if self.turbulence > 0:
            field = random_field(brightness.shape, rng, outer_scale=length / 3)
            brightness = brightness * lognormal(field, self.turbulence)
        return brightness


class Filament(Bridge):
    """A cosmic-web filament: a longer, fainter, patchier :class:`Bridge`.

    Same model and parameters as :class:`Bridge` (default ``turbulence``
    0.7); its :attr:`kind` is ``"filament"`` and it maps to the same truth
    class (3).
    """

    kind = "filament"

    def __init__(self, flux_density, *, length, width, turbulence=0.7, **kwargs):
        super().__init__(flux_density, length=length, width=width, turbulence=turbulence, **kwargs)
