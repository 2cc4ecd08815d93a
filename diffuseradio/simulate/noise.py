"""Image-plane noise of a radio mosaic.

Thermal noise in a restored radio image is Gaussian and correlated on the
scale of the beam: it is modelled as white noise convolved with the beam
kernel and scaled so its per-pixel standard deviation is exactly the
requested rms (the gain of the convolution is computed exactly by Parseval's
theorem). Mosaics are not uniformly deep (primary-beam attenuation between
pointings, bright sources, elevation), which a smooth multiplicative rms map
describes; DR2-style mosaics are blanked (NaN) beyond a radius.
"""

import numpy as np
import scipy.fft

from .component import random_field

__all__ = ["correlated_noise", "rms_variation", "outside_circle"]


def correlated_noise(shape, beam, rng):
    """Gaussian noise correlated by the beam, with unit rms per pixel.

    The noise is periodic on a grid of FFT-friendly size and cropped to
    ``shape``, so it is stationary everywhere (no edge effects).

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    beam : ``PixelBeam`` (the beam on the pixel grid)
        Restoring beam on the grid.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``; multiply by the rms (map) in Jy/beam.

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from radio_beam import Beam
    >>> from diffuseradio.simulate.beam import PixelBeam
    >>> beam = PixelBeam(Beam(6 * u.arcsec), 1.5 * u.arcsec)
    >>> noise = correlated_noise((512, 512), beam, np.random.default_rng(1))
    >>> bool(abs(noise.std() - 1) < 0.03)
    True
    """
    padded = tuple(scipy.fft.next_fast_len(n, real=True) for n in shape)
    white = rng.standard_normal(padded, dtype=np.float32)
    noise = beam.filter(white)[: shape[0], : shape[1]]
    noise /= np.float32(beam.noise_gain(padded))
    return noise


def rms_variation(shape, amplitude, rng, *, scale=None):
    """A smooth map of relative noise level with mean ~1.

    A log-normal field ``exp(amplitude * g - amplitude^2 / 2)`` where ``g``
    is a unit Gaussian random field with a steep spectrum, drawn on a coarse
    grid (``scale`` pixels per cell) and bilinearly interpolated.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    amplitude : float
        Standard deviation of the log-rms (0.15 ~ 15 % variation).
    rng : numpy.random.Generator
        Source of randomness.
    scale : float, optional
        Pixels per coarse cell (default a quarter of the larger side).

    Returns
    -------
    numpy.ndarray
        float32 map of ``shape``.
    """
    if amplitude == 0:
        return np.ones(shape, dtype=np.float32)
    scale = float(scale or max(shape) / 4)
    coarse_shape = tuple(int(np.ceil(n / scale)) + 2 for n in shape)
    coarse = random_field(coarse_shape, rng, slope=4.0, outer_scale=4.0)
    # Bilinear interpolation as two small matrix products (separable weights).
    rows = _interpolation_matrix(shape[0], coarse_shape[0], scale)
    columns = _interpolation_matrix(shape[1], coarse_shape[1], scale)
    field = rows @ coarse @ columns.T
    return np.exp(np.float32(amplitude) * field - np.float32(amplitude**2 / 2)).astype(np.float32)


def outside_circle(shape, radius):
    """Boolean mask of the pixels farther than ``radius`` from the grid centre.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    radius : float
        Radius in pixels.

    Returns
    -------
    numpy.ndarray
        bool array, True outside the circle (to be blanked).
    """
    y = np.arange(shape[0]) - (shape[0] - 1) / 2
    x = np.arange(shape[1]) - (shape[1] - 1) / 2
    return (y[:, None] ** 2 + x[None, :] ** 2) > radius**2


def _interpolation_matrix(size, cells, scale):
    """``(size, cells)`` weights of linear interpolation from a coarse grid."""
    position = np.arange(size) / scale + 0.5
    lower = np.clip(np.floor(position).astype(int), 0, cells - 2)
    weight = position - lower
    matrix = np.zeros((size, cells), dtype=np.float32)
    matrix[np.arange(size), lower] = 1.0 - weight
    matrix[np.arange(size), lower + 1] = weight
    return matrix
