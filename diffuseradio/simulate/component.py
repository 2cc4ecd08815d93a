"""What every simulated source has in common.

A :class:`Component` is a physical description of one radio source (its
integrated flux density and shape parameters as Quantities). It renders a
*sky model* in Jy/pixel on any pixel grid, normalised so that the pixels sum
exactly to the flux density, and an *image* in Jy/beam (the sky model
convolved with a restoring beam). Random substructure comes from the
component's own ``seed``, so a component renders identically every time.
"""

import copy

import astropy.units as u
import numpy as np
import scipy.fft
from astropy.cosmology import Planck18

from .beam import Stamp, direction

__all__ = ["Component", "angular_size", "random_field", "lognormal", "as_flux_density"]

#: Largest stamp side (pixels) rendered at full resolution for a field.
_MAX_STAMP = 1024


class Component:
    """Base class of the simulated radio sources.

    Subclasses set :attr:`kind` and :attr:`truth_class`, and implement the
    property ``angular_size`` (nominal largest angular size),
    ``_half_size(scale)`` (stamp half-size in pixels for a pixel scale in
    arcsec) and ``_brightness(x, y, scale, rng)`` (relative surface
    brightness at pixel offsets ``x``, ``y`` from the component's centre).

    Parameters
    ----------
    flux_density : `~astropy.units.Quantity`
        Integrated flux density of the sky model.
    seed : int, optional
        Seed of the component's random substructure.

    Attributes
    ----------
    kind : str
        Short name used in object tables (``"halo"``, ``"frii"``, ...).
    truth_class : int
        Class in simulated truth maps: 1 halo (and mini-halo), 2 relic,
        3 bridge/filament, 0 for everything that is not diffuse cluster
        emission (radio galaxies, compact sources, artefacts).
    """

    kind = "component"
    truth_class = 0

    def __init__(self, flux_density, *, seed=None):
        self.flux_density = as_flux_density(flux_density)
        self.seed = np.random.SeedSequence().entropy if seed is None else int(seed)

    def __repr__(self):
        return f"<{type(self).__name__} {self.flux_density.to(u.mJy):.4g}>"

    def scaled(self, factor):
        """A copy with the flux density multiplied by ``factor`` (same shape)."""
        other = copy.copy(self)
        other.flux_density = self.flux_density * factor
        return other

    def sky_model(self, pixel_scale, x=0.0, y=0.0):
        """Render the sky model in Jy/pixel.

        Parameters
        ----------
        pixel_scale : `~astropy.units.Quantity`
            Side of one pixel.
        x, y : float, optional
            Pixel position of the component's centre on the target grid.

        Returns
        -------
        Stamp
            float32 sky model whose pixels sum to the flux density in Jy (a
            component too small to reach any pixel centre is one point, on
            the pixel nearest its centre).
        """
        scale = u.Quantity(pixel_scale, u.arcsec).to_value(u.arcsec)
        ix, iy = int(np.rint(x)), int(np.rint(y))
        half = self._half_size(scale)
        dx = (np.arange(-half, half + 1) - (x - ix))[None, :]
        dy = (np.arange(-half, half + 1) - (y - iy))[:, None]
        rng = np.random.default_rng(self.seed)
        brightness = np.asarray(self._brightness(dx, dy, scale, rng), dtype=np.float64)
        total = brightness.sum()
        if not total > 0:  # smaller than a pixel, between the pixel centres: unresolved
            brightness = np.zeros_like(brightness)
            brightness[half, half] = total = 1.0
        data = (brightness * (self.flux_density.to_value(u.Jy) / total)).astype(np.float32)
        return Stamp(data, iy - half, ix - half)

    def image(self, beam, x=0.0, y=0.0, *, window=None):
        """Render the beam-convolved image in Jy/beam.

        Parameters
        ----------
        beam : ``PixelBeam`` (the beam on the pixel grid)
            Restoring beam on the target pixel grid.
        x, y : float, optional
            Pixel position of the component's centre.
        window : tuple of int, optional
            ``(ny, nx)`` of the target grid. When given, only the part of the
            image on the grid is computed, and a model much larger than
            ``_MAX_STAMP`` pixels is rendered on pixels up to ``1.5 sigma``
            of the beam large and spread evenly over the fine pixels before
            the convolution (flux stays exact; the blocks are invisible after
            the beam). Its texture then differs in detail from
            :meth:`sky_model`'s.

        Returns
        -------
        Stamp or None
            float32 image whose pixels sum to ``flux_density * beam.area``
            (the part on the grid with ``window``); None when it misses the
            window entirely.
        """
        sky = self.sky_stamp(beam, x, y, window=window)
        return None if sky is None else beam.convolve(sky)

    def sky_stamp(self, beam, x=0.0, y=0.0, *, window=None, margin=None):
        """The sky model (Jy/pixel) that :meth:`image` convolves with ``beam``.

        Parameters
        ----------
        beam : ``PixelBeam`` (the beam on the pixel grid)
            Restoring beam on the target pixel grid (its pixel scale, and
            its width for the binning of very large models).
        x, y : float, optional
            Pixel position of the component's centre.
        window : tuple of int, optional
            ``(ny, nx)`` of the target grid: bin very large models and keep
            only the part within ``margin`` of the grid (see :meth:`image`).
        margin : int, optional
            Pixels kept beyond the window (default: the beam's support).

        Returns
        -------
        Stamp or None
            None when the model misses the window and its margin.
        """
        scale = beam.pixel_scale.to_value(u.arcsec)
        factor = 1
        if window is not None:
            largest = max(1, int(1.5 * beam.sigma_minor))
            factor = min(largest, -(-(2 * self._half_size(scale) + 1) // _MAX_STAMP))
        sky = self._binned_sky_model(scale, x, y, factor)
        if window is not None:
            sky = sky.cropped(window, margin=beam.halfwidth if margin is None else margin)
        return sky

    def _binned_sky_model(self, scale, x, y, factor):
        """Sky model rendered on ``factor``-times larger pixels, spread evenly."""
        if factor == 1:
            return self.sky_model(scale * u.arcsec, x, y)
        # Coarse pixel J covers fine pixels factor*J ... factor*J + factor - 1.
        shift = (factor - 1) / 2
        coarse = self.sky_model(
            scale * factor * u.arcsec, (x - shift) / factor, (y - shift) / factor
        )
        data = np.repeat(np.repeat(coarse.data, factor, axis=0), factor, axis=1)
        data /= np.float32(factor**2)
        return Stamp(data, coarse.y0 * factor, coarse.x0 * factor)


def angular_size(size, redshift=None, cosmology=Planck18):
    """An angle, or a proper length at a redshift converted to an angle.

    Parameters
    ----------
    size : `~astropy.units.Quantity`
        An angle, or a length (e.g. kpc) when ``redshift`` is given.
    redshift : float, optional
        Redshift of a length.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology for the angular-diameter distance (Planck 2018 default).

    Returns
    -------
    `~astropy.units.Quantity`
        Angle in arcsec.

    Raises
    ------
    ValueError
        For a length without a redshift, or a size that is neither.

    Examples
    --------
    >>> import astropy.units as u
    >>> angular_size(200 * u.kpc, redshift=0.1).round(1)
    <Quantity 104.9 arcsec>
    """
    size = u.Quantity(size)
    if size.unit.physical_type == "angle":
        return size.to(u.arcsec)
    if size.unit.physical_type != "length":
        raise ValueError(f"a size must be an angle or a length, not {size}")
    if redshift is None:
        raise ValueError(f"a physical size ({size}) needs a redshift")
    return (size * cosmology.arcsec_per_kpc_proper(redshift)).to(u.arcsec)


def random_field(shape, rng, *, slope=11.0 / 3.0, outer_scale=None, stretch=1.0, angle=0.0):
    """A zero-mean, unit-variance Gaussian random field with a power-law spectrum.

    The power spectrum is ``P(k) ~ (k^2 + k0^2)^(-slope/2)`` with
    ``k0 = 1 / outer_scale`` (Kolmogorov turbulence has ``slope = 11/3``).
    With ``stretch > 1`` the field is anisotropic: structures are ``stretch``
    times longer along the direction of position angle ``angle``, which makes
    filaments.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    rng : numpy.random.Generator
        Source of randomness.
    slope : float, optional
        Power-law index of the 2-D power spectrum.
    outer_scale : float, optional
        Largest scale in pixels (default: the larger side).
    stretch : float, optional
        Anisotropy (>= 1).
    angle : float, optional
        Position angle (radians, east of north) of the long direction.

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``.
    """
    outer = float(outer_scale or max(shape))
    fy = scipy.fft.fftfreq(shape[0])[:, None]
    fx = scipy.fft.rfftfreq(shape[1])[None, :]
    ux, uy = direction(angle)
    along = fx * ux + fy * uy
    across = fx * uy - fy * ux
    k2 = (along * stretch) ** 2 + across**2 + outer**-2
    amplitude = (k2 ** (-slope / 4.0)).astype(np.float32)
    white = rng.standard_normal(shape, dtype=np.float32)
    field = scipy.fft.irfft2(scipy.fft.rfft2(white, workers=1) * amplitude, s=shape, workers=1)
    field -= field.mean()
    field /= field.std()
    return field


def lognormal(field, sigma):
    """Multiplicative fluctuation ``exp(sigma * field - sigma^2 / 2)`` (mean 1)."""
    return np.exp(np.float32(sigma) * field - np.float32(sigma**2 / 2.0))


def as_flux_density(value):
    """A flux density in mJy; refuse anything that is not one."""
    value = u.Quantity(value)
    if not value.unit.is_equivalent(u.Jy):
        raise u.UnitsError(f"a flux density must be in Jy (or mJy...), not {value.unit}")
    return value.to(u.mJy)
