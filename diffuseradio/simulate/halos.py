"""Radio halos and mini-halos: cluster-centred diffuse emission.

Radio halos follow, on average, an exponential surface-brightness profile
``I(r) = I0 exp(-r / r_e)`` (Murgia et al. 2009, A&A 499, 679), fitted to the
LoTSS-DR2 Planck clusters by Botteon et al. 2022 (A&A 660, A78) with
e-folding radii of about 50-300 kpc. Real halos are not smooth: turbulent
re-acceleration leaves patchy brightness on scales of tens to hundreds of kpc
(van Weeren et al. 2019, SSRv 215, 16), modelled here as a log-normal
multiplicative Gaussian random field with a Kolmogorov power spectrum.
Mini-halos (Giacintucci et al. 2017) are the same kind of emission, smaller
(r_e ~ 10-100 kpc) and confined to cool-core cluster centres around the
brightest cluster galaxy.
"""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

from .component import Component, angular_size, lognormal, random_field

__all__ = ["RadioHalo", "MiniHalo"]


class RadioHalo(Component):
    """A radio halo with an elliptical exponential profile and turbulent substructure.

    The surface brightness is ``I0 exp(-rho)`` with the elliptical radius
    ``rho = sqrt((a / r_e)^2 + (b / (r_e (1 - ellipticity)))^2)`` for offsets
    ``a`` along and ``b`` across the major axis, multiplied by
    ``exp(s g - s^2 / 2)`` where ``g`` is a unit Gaussian random field with a
    Kolmogorov spectrum (outer scale ``2 r_e``) and ``s = turbulence``. The
    profile is truncated at ``rho = truncation`` (6 e-folding radii hold
    98.3 % of an untruncated profile's flux), and ``flux_density`` is the flux
    of the truncated model, so
    ``S = 2 pi I0 r_e^2 (1 - ellipticity) (1 - (1 + t) exp(-t))``.

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`, optional
        Integrated flux density. Give this or ``central_brightness``.
    e_folding_radius : `~astropy.units.Quantity`
        Major-axis e-folding radius: an angle, or a length (kpc) with
        ``redshift``.
    central_brightness : `~astropy.units.Quantity`, optional
        ``I0`` as a surface brightness (e.g. ``uJy / arcsec**2``).
    redshift : float, optional
        Cluster redshift, needed for a physical radius.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck 2018.
    ellipticity : float, optional
        ``1 - minor/major`` of the e-folding radii, in [0, 1).
    position_angle : `~astropy.units.Quantity`, optional
        Major-axis position angle, east of north.
    turbulence : float, optional
        Standard deviation of the log-brightness fluctuations (0 = smooth).
    truncation : float, optional
        Outer radius of the model in e-folding radii.
    seed : int, optional
        Seed of the substructure.

    Examples
    --------
    >>> import astropy.units as u
    >>> halo = RadioHalo(20 * u.mJy, e_folding_radius=150 * u.kpc, redshift=0.2)
    >>> halo.e_folding_radius.round(1)
    <Quantity 44. arcsec>
    >>> halo.central_brightness.to(u.uJy / u.arcsec**2).round(2)
    <Quantity 1.67 uJy / arcsec2>
    >>> stamp = halo.sky_model(6 * u.arcsec)
    >>> round(float(stamp.data.sum()), 6)  # Jy: flux is conserved exactly
    0.02
    """

    kind = "halo"
    truth_class = 1

    def __init__(
        self,
        flux_density=None,
        *,
        e_folding_radius,
        central_brightness=None,
        redshift=None,
        cosmology=Planck18,
        ellipticity=0.0,
        position_angle=0 * u.deg,
        turbulence=0.3,
        truncation=6.0,
        seed=None,
    ):
        if (flux_density is None) == (central_brightness is None):
            raise ValueError("give exactly one of flux_density and central_brightness")
        if not 0.0 <= ellipticity < 1.0:
            raise ValueError(f"ellipticity must be in [0, 1), not {ellipticity}")
        self.redshift = redshift
        self.e_folding_radius = angular_size(e_folding_radius, redshift, cosmology)
        self.ellipticity = float(ellipticity)
        self.position_angle = u.Quantity(position_angle, u.deg)
        self.turbulence = float(turbulence)
        self.truncation = float(truncation)
        if flux_density is None:
            flux_density = (u.Quantity(central_brightness) * self._flux_per_brightness).to(u.mJy)
        super().__init__(flux_density, seed=seed)

    @property
    def _flux_per_brightness(self):
        t = self.truncation
        enclosed = 1.0 - (1.0 + t) * np.exp(-t)
        return 2.0 * np.pi * self.e_folding_radius**2 * (1.0 - self.ellipticity) * enclosed

    @property
    def central_brightness(self):
        """Mean central surface brightness ``I0`` (Jy/arcsec^2)."""
        return (self.flux_density / self._flux_per_brightness).to(u.Jy / u.arcsec**2)

    @property
    def angular_size(self):
        """Diameter at three e-folding radii (the extent usually quoted), arcsec."""
        return 6.0 * self.e_folding_radius

    def _half_size(self, scale):
        return int(np.ceil(self.truncation * self.e_folding_radius.to_value(u.arcsec) / scale)) + 1

    def _brightness(self, x, y, scale, rng):
        radius = self.e_folding_radius.to_value(u.arcsec) / scale
        pa = self.position_angle.to_value(u.rad)
        along = -x * np.sin(pa) + y * np.cos(pa)
        across = x * np.cos(pa) + y * np.sin(pa)
        rho = np.hypot(along / radius, across / (radius * (1.0 - self.ellipticity)))
        brightness = np.where(rho <= self.truncation, np.exp(-rho), 0.0)
        if self.turbulence > 0:
            field = random_field(brightness.shape, rng, outer_scale=2.0 * radius)
            brightness = brightness * lognormal(field, self.turbulence)
        return brightness


class MiniHalo(RadioHalo):
    """A mini-halo: a small radio halo in a cool-core cluster centre.

    Same model and parameters as :class:`RadioHalo` (typical e-folding radii
    10-100 kpc, less substructure). Mini-halos map to the halo class (1) of
    the truth maps; their :attr:`kind` is ``"minihalo"`` in object tables.

    Examples
    --------
    >>> import astropy.units as u
    >>> mini = MiniHalo(5 * u.mJy, e_folding_radius=40 * u.kpc, redshift=0.1)
    >>> mini.kind, mini.truth_class
    ('minihalo', 1)
    """

    kind = "minihalo"
    truth_class = 1

    def __init__(self, flux_density=None, *, e_folding_radius, turbulence=0.2, **kwargs):
        super().__init__(
            flux_density, e_folding_radius=e_folding_radius, turbulence=turbulence, **kwargs
        )
