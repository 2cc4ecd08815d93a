"""Cluster physics: k-corrected radio powers and R500 from M500 (Planck 2018 by default)."""

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18

__all__ = ["radio_power", "r500_from_m500"]


def radio_power(
    flux_density,
    redshift,
    *,
    spectral_index=1.3,
    frequency=144 * u.MHz,
    observed_frequency=None,
    cosmology=None,
):
    """k-corrected rest-frame radio power, ``P = 4 pi D_L^2 S (1 + z)^(alpha - 1)``.

    With ``S_nu ~ nu^-alpha``, the flux density measured at
    ``observed_frequency`` is first scaled to ``frequency``, then
    ``P_nu = 4 pi D_L(z)^2 S_nu (1 + z)^(alpha - 1)`` (``cosmology``'s
    luminosity distance) gives the power emitted at ``frequency`` in the source's frame.

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Measured flux density (scalar or array).
    redshift : float or array_like
        Redshift; NaN or non-positive values give NaN.
    spectral_index : float, optional
        ``alpha`` of ``S_nu ~ nu^-alpha`` (1.3 is typical of radio halos).
    frequency : `~astropy.units.Quantity`, optional
        Frequency of the power (default 144 MHz).
    observed_frequency : `~astropy.units.Quantity`, optional
        Frequency of the measurement (default: ``frequency``).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck18.

    Returns
    -------
    `~astropy.units.Quantity`
        In W/Hz.

    Examples
    --------
    >>> import astropy.units as u
    >>> power = radio_power(100 * u.mJy, 0.2)
    >>> print(f"{power:.3e}")
    1.295e+25 W / Hz
    >>> power_1400 = radio_power(7.2 * u.mJy, 0.2, observed_frequency=1.4 * u.GHz)
    >>> print(f"{power_1400:.3e}")
    1.794e+25 W / Hz
    """
    flux_density = u.Quantity(flux_density, u.Jy)
    observed = frequency if observed_frequency is None else observed_frequency
    scale = float((u.Quantity(frequency) / u.Quantity(observed)).to(u.one)) ** -spectral_index
    z = np.asarray(redshift, dtype=float)
    known = np.isfinite(z) & (z > 0)
    distance = np.full(z.shape, np.nan) * u.m
    if known.any():
        distance[known] = (cosmology or Planck18).luminosity_distance(z[known]).to(u.m)
    power = 4 * np.pi * distance**2 * flux_density * scale * (1 + z) ** (spectral_index - 1)
    return power.to(u.W / u.Hz)


def r500_from_m500(m500, redshift, cosmology=None):
    """R500 from M500: ``R500 = (3 M500 / (4 pi 500 rho_c(z)))^(1/3)``.

    The radius within which the mean density is 500 times the critical
    density of the Universe at the cluster's redshift.

    Parameters
    ----------
    m500 : `~astropy.units.Quantity`
        Mass within R500.
    redshift : float or array_like
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck18.

    Returns
    -------
    `~astropy.units.Quantity`
        In Mpc.

    Examples
    --------
    >>> import astropy.units as u
    >>> r500_from_m500(1e15 * u.Msun, 0.2).round(3)
    <Quantity 1.452 Mpc>
    """
    rho_c = (cosmology or Planck18).critical_density(np.asarray(redshift, dtype=float))
    return np.cbrt(3 * u.Quantity(m500) / (4 * np.pi * 500 * rho_c)).to(u.Mpc)
