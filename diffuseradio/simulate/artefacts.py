"""Calibration artefacts around bright sources.

Residual direction-dependent calibration errors leave the brightest sources
of a LOFAR field surrounded by a dynamic-range-limited pattern (Shimwell et
al. 2019, 2022; Tasse et al. 2021): concentric positive and negative
sidelobe rings, radial spokes, and a negative "bowl" (missing short
baselines and over-subtracted flux). They extend over arcminutes, look
diffuse, and are a classic false positive for halo searches.
"""

import astropy.units as u
import numpy as np

from .beam import Stamp
from .component import as_flux_density

__all__ = ["CalibrationArtefact"]


class CalibrationArtefact:
    """Rings, spokes and a negative bowl around a bright source.

    The pattern, in Jy/beam before smoothing by the beam, is ``S`` (the
    source's flux density) times::

        [ring_amplitude * R(r) * A(theta)
         + sum_k (+-spoke_amplitude) * exp(-(r dtheta_k)^2 / (2 w^2))] * E(r)
        - bowl_depth * exp(-r^2 / (2 bowl_radius^2))

    with the envelope ``E(r) = exp(-r^2 / (2 extent^2))`` switched off
    inside 1.5 beams of the source, ``R(r)`` a unit-variance random function
    of radius with correlation length ``ring_spacing / 4`` (irregular rings),
    ``A(theta) = max(0, 1 + cos(theta -
    theta_0) + 0.5 cos(2 theta - theta_1))`` (rings are lopsided, as direction
    dependent errors are), ``w`` the beam's sigma and the spokes in
    ``n_spokes`` random directions (alternating signs, in opposite pairs). It is not a sky
    component: it renders only as an image (:meth:`image`), already at the
    resolution of the beam, and its net flux density is whatever the pattern
    integrates to.

    Parameters
    ----------
    source_flux : `~astropy.units.Quantity`
        Flux density of the bright source the pattern surrounds.
    ring_amplitude : float, optional
        Ring amplitude as a fraction of the source's peak brightness.
    ring_spacing : `~astropy.units.Quantity`, optional
        Distance between rings.
    extent : `~astropy.units.Quantity`, optional
        Gaussian radius (sigma) of the envelope of rings and spokes.
    n_spokes : int, optional
        Number of radial spokes.
    spoke_amplitude : float, optional
        Spoke amplitude as a fraction of the source's peak brightness.
    bowl_depth : float, optional
        Depth of the negative bowl as a fraction of the source's peak.
    bowl_radius : `~astropy.units.Quantity`, optional
        Gaussian radius (sigma) of the bowl.
    seed : int, optional
        Seed of the spoke directions and ring phase.

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> from diffuseradio.simulate.beam import PixelBeam
    >>> artefact = CalibrationArtefact(0.5 * u.Jy, seed=2)
    >>> stamp = artefact.image(PixelBeam(Beam(6 * u.arcsec), 1.5 * u.arcsec))
    >>> bool(stamp.data.min() < 0 < stamp.data.max())
    True
    """

    kind = "artefact"
    truth_class = 0

    def __init__(
        self,
        source_flux,
        *,
        ring_amplitude=0.001,
        ring_spacing=40 * u.arcsec,
        extent=60 * u.arcsec,
        n_spokes=6,
        spoke_amplitude=0.003,
        bowl_depth=3e-4,
        bowl_radius=40 * u.arcsec,
        seed=None,
    ):
        self.source_flux = as_flux_density(source_flux)
        self.ring_amplitude = float(ring_amplitude)
        self.ring_spacing = u.Quantity(ring_spacing, u.arcsec)
        self.extent = u.Quantity(extent, u.arcsec)
        self.n_spokes = int(n_spokes)
        self.spoke_amplitude = float(spoke_amplitude)
        self.bowl_depth = float(bowl_depth)
        self.bowl_radius = u.Quantity(bowl_radius, u.arcsec)
        self.seed = np.random.SeedSequence().entropy if seed is None else int(seed)

    def __repr__(self):
        return f"<CalibrationArtefact around {self.source_flux.to(u.mJy):.4g}>"

    @property
    def angular_size(self):
        """Diameter of the rendered pattern (4 sigma each side), arcsec."""
        return 8 * max(self.extent, self.bowl_radius)

    def image(self, beam, x=0.0, y=0.0, *, window=None):
        """Render the pattern in Jy/beam, smoothed by the beam.

        Parameters
        ----------
        beam : ``PixelBeam`` (the beam on the pixel grid)
            Restoring beam on the target grid.
        x, y : float, optional
            Pixel position of the bright source.
        window : tuple of int, optional
            ``(ny, nx)`` of the target grid: only the part on it is computed.

        Returns
        -------
        Stamp or None
            float32 image; None when it misses the window.
        """
        scale = beam.pixel_scale.to_value(u.arcsec)
        half = int(np.ceil(self.angular_size.to_value(u.arcsec) / 2 / scale))
        ix, iy = int(np.rint(x)), int(np.rint(y))
        stamp = Stamp(np.empty((2 * half + 1, 2 * half + 1), np.float32), iy - half, ix - half)
        if window is not None:
            stamp = stamp.cropped(window, margin=beam.halfwidth)
            if stamp is None:
                return None
        dx = (np.arange(stamp.data.shape[1]) + stamp.x0 - x)[None, :] * scale
        dy = (np.arange(stamp.data.shape[0]) + stamp.y0 - y)[:, None] * scale
        pattern = self._pattern(dx, dy, beam)
        smoothed = beam.convolve(Stamp(pattern / np.float32(beam.area), stamp.y0, stamp.x0))
        return smoothed.cropped(window, margin=0) if window is not None else smoothed

    def _pattern(self, dx, dy, beam):
        """Pattern in Jy/beam (before smoothing) at offsets ``dx``, ``dy`` (arcsec)."""
        rng = np.random.default_rng(self.seed)
        dx, dy = dx.astype(np.float32), dy.astype(np.float32)
        r = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        beam_sigma = beam.sigma_major * beam.pixel_scale.to_value(u.arcsec)
        outside = r > 1.5 * beam_sigma * np.sqrt(8 * np.log(2))
        envelope = np.exp(np.float32(-0.5 / self.extent.to_value(u.arcsec) ** 2) * r**2) * outside
        theta0, theta1 = rng.uniform(0, 2 * np.pi, 2)
        lopsided = np.maximum(
            0, 1 + np.cos(theta - np.float32(theta0)) + 0.5 * np.cos(2 * theta - np.float32(theta1))
        )
        pattern = np.float32(self.ring_amplitude) * self._rings(r, rng) * lopsided
        angles = rng.uniform(0, 2 * np.pi, self.n_spokes)
        angles[1::2] = angles[::2][: angles[1::2].size] + np.pi
        for k, angle in enumerate(angles):
            offset = (theta - np.float32(angle) + np.float32(np.pi)) % np.float32(
                2 * np.pi
            ) - np.float32(np.pi)
            sign = 1.0 if k % 4 < 2 else -1.0
            pattern += np.float32(sign * self.spoke_amplitude) * np.exp(
                np.float32(-0.5 / beam_sigma**2) * (r * offset) ** 2
            )
        pattern *= envelope
        bowl = np.float32(-0.5 / self.bowl_radius.to_value(u.arcsec) ** 2)
        pattern -= np.float32(self.bowl_depth) * np.exp(bowl * r**2)
        return np.float32(self.source_flux.to_value(u.Jy)) * pattern

    def _rings(self, r, rng):
        """A smooth random function of radius (unit variance), as irregular rings."""
        step = self.ring_spacing.to_value(u.arcsec) / 4
        knots = np.arange(0, r.max() + 2 * step, step)
        values = np.convolve(rng.standard_normal(knots.size + 5), np.hanning(6), mode="valid")
        values /= values.std()
        return np.interp(r, knots, values).astype(np.float32)
