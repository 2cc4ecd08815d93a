"""A restoring beam on a pixel grid: convolution and pre-convolved sources.

Everything the simulator does with a beam goes through :class:`PixelBeam`:
convolving sky models (Jy/pixel) into images (Jy/beam) with real FFTs and the
beam's analytic transfer function, drawing beam-convolved Gaussian sources
directly at sub-pixel positions, and correlating white noise.

Orientation convention (the whole subpackage): pixel ``x`` grows to the west
and ``y`` to the north (north up, east left, as in LoTSS mosaics), and a
position angle is measured from north through east, so a direction of
position angle ``pa`` is the pixel vector ``(-sin pa, cos pa)``.
"""

import astropy.units as u
import numpy as np
import scipy.fft

__all__ = ["PixelBeam", "Stamp", "direction", "gaussian_covariance"]

#: The convolution kernel is treated as zero beyond this many sigma.
_SUPPORT_SIGMA = 5.0


def direction(position_angle):
    """Pixel-frame unit vector ``(dx, dy)`` of a position angle (radians)."""
    return -np.sin(position_angle), np.cos(position_angle)


class Stamp:
    """A small image placed on a larger pixel grid.

    Parameters
    ----------
    data : numpy.ndarray
        2-D values (Jy/pixel for sky models, Jy/beam for images).
    y0, x0 : int
        Grid indices of ``data[0, 0]``; may be negative or beyond the grid.
    """

    __slots__ = ("data", "y0", "x0")

    def __init__(self, data, y0, x0):
        self.data = data
        self.y0 = int(y0)
        self.x0 = int(x0)

    def overlap(self, shape):
        """Slices ``(grid, stamp)`` of the part inside a grid, or None.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)`` of the grid.
        """
        ny, nx = self.data.shape
        gy0, gx0 = max(self.y0, 0), max(self.x0, 0)
        gy1, gx1 = min(self.y0 + ny, shape[0]), min(self.x0 + nx, shape[1])
        if gy0 >= gy1 or gx0 >= gx1:
            return None
        grid = (slice(gy0, gy1), slice(gx0, gx1))
        stamp = (slice(gy0 - self.y0, gy1 - self.y0), slice(gx0 - self.x0, gx1 - self.x0))
        return grid, stamp

    def add_to(self, image, scale=1.0):
        """Add ``scale * data`` into ``image`` (in place) where they overlap."""
        overlap = self.overlap(image.shape)
        if overlap is not None:
            image[overlap[0]] += scale * self.data[overlap[1]]

    def sampled(self, factor):
        """An image sampled at the pixel centres of a ``factor`` times coarser grid.

        Pixel ``i`` of the coarser grid covers pixels ``factor * i`` to
        ``factor * i + factor - 1`` of this one and takes the value at its
        centre: the middle pixel of the block, or the mean of the middle two
        (in each axis) for an even ``factor`` (bilinear interpolation there).
        For images (Jy/beam) smooth on the scale of the coarser pixels.

        Parameters
        ----------
        factor : int

        Returns
        -------
        Stamp
        """
        y0, x0 = self.y0 // factor * factor, self.x0 // factor * factor
        ny = -(-(self.y0 + self.data.shape[0] - y0) // factor)
        nx = -(-(self.x0 + self.data.shape[1] - x0) // factor)
        padded = np.zeros((ny * factor, nx * factor), dtype=self.data.dtype)
        dy, dx = self.y0 - y0, self.x0 - x0
        padded[dy : dy + self.data.shape[0], dx : dx + self.data.shape[1]] = self.data
        blocks = padded.reshape(ny, factor, nx, factor)
        middle = slice((factor - 1) // 2, factor // 2 + 1)
        data = blocks[:, middle, :, middle].mean(axis=(1, 3), dtype=np.float64)
        return Stamp(data.astype(self.data.dtype), y0 // factor, x0 // factor)

    def cropped(self, shape, margin=0):
        """The part within ``margin`` pixels of a grid of ``shape``, or None.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)`` of the grid.
        margin : int, optional
            Pixels kept beyond each edge of the grid.
        """
        ny, nx = self.data.shape
        y0, x0 = max(self.y0, -margin), max(self.x0, -margin)
        y1 = min(self.y0 + ny, shape[0] + margin)
        x1 = min(self.x0 + nx, shape[1] + margin)
        if y0 >= y1 or x0 >= x1:
            return None
        data = self.data[y0 - self.y0 : y1 - self.y0, x0 - self.x0 : x1 - self.x0]
        return Stamp(data, y0, x0)


class PixelBeam:
    """A Gaussian restoring beam sampled on a pixel grid.

    Parameters
    ----------
    beam : `radio_beam.Beam`
        The restoring beam (FWHM major/minor axes, position angle east of
        north).
    pixel_scale : `~astropy.units.Quantity`
        Side of one (square) pixel.

    Attributes
    ----------
    area : float
        Beam solid angle in pixels, ``2 pi sigma_maj sigma_min``: an image in
        Jy/beam is a sky model in Jy/pixel convolved with the unit-sum kernel
        and multiplied by ``area``.
    covariance : numpy.ndarray
        2x2 covariance of the beam in pixel ``(x, y)`` coordinates.
    halfwidth : int
        Kernel support radius in pixels (5 sigma of the major axis).

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> beam = PixelBeam(Beam(6 * u.arcsec), 1.5 * u.arcsec)
    >>> round(float(beam.area), 2), beam.halfwidth
    (18.13, 9)
    """

    def __init__(self, beam, pixel_scale):
        self.beam = beam
        self.pixel_scale = u.Quantity(pixel_scale, u.arcsec)
        scale = self.pixel_scale.to_value(u.arcsec)
        fwhm_to_sigma = 1.0 / np.sqrt(8.0 * np.log(2.0))
        self.sigma_major = beam.major.to_value(u.arcsec) * fwhm_to_sigma / scale
        self.sigma_minor = beam.minor.to_value(u.arcsec) * fwhm_to_sigma / scale
        self.area = 2.0 * np.pi * self.sigma_major * self.sigma_minor
        self.covariance = gaussian_covariance(
            self.sigma_major, self.sigma_minor, beam.pa.to_value(u.rad)
        )
        self.halfwidth = int(np.ceil(_SUPPORT_SIGMA * self.sigma_major))
        self._transfers = {}

    def transfer(self, shape):
        """The beam's transfer function on the ``rfft2`` grid of ``shape``.

        It is the Fourier transform of the unit-sum Gaussian kernel, so its
        zero-frequency value is exactly 1 and convolution conserves flux.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)`` of the (padded) array to convolve.

        Returns
        -------
        numpy.ndarray
            float32 array of shape ``(ny, nx // 2 + 1)``.
        """
        shape = tuple(shape)
        if shape not in self._transfers:
            fy = scipy.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
            fx = scipy.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
            (cxx, cxy), (_, cyy) = self.covariance
            factor = np.float32(-2.0 * np.pi**2)
            # Separable for a beam aligned with the axes (always for a circular one).
            transfer = np.exp(factor * cyy * fy**2) * np.exp(factor * cxx * fx**2)
            if abs(cxy) > 1e-9 * (cxx + cyy):
                transfer *= np.exp(2.0 * factor * cxy * fx * fy)
            self._transfers[shape] = transfer
        return self._transfers[shape]

    def convolve(self, stamp):
        """Convolve a sky model (Jy/pixel) into an image (Jy/beam).

        The stamp is padded by the kernel support, so nothing wraps around and
        the output, ``2 * halfwidth`` pixels larger, holds all the flux:
        ``output.sum() == area * stamp.sum()`` to rounding.

        Parameters
        ----------
        stamp : Stamp
            Sky model in Jy/pixel.

        Returns
        -------
        Stamp
            float32 image in Jy/beam.
        """
        pad = self.halfwidth
        ny, nx = (n + 2 * pad for n in stamp.data.shape)
        shape = (scipy.fft.next_fast_len(ny, real=True), scipy.fft.next_fast_len(nx, real=True))
        padded = np.zeros(shape, dtype=np.float32)
        padded[pad : pad + stamp.data.shape[0], pad : pad + stamp.data.shape[1]] = stamp.data
        image = self.filter(padded)[:ny, :nx]
        image *= np.float32(self.area)
        return Stamp(image, stamp.y0 - pad, stamp.x0 - pad)

    def filter(self, data):
        """Circular convolution of a whole array with the unit-sum kernel.

        Parameters
        ----------
        data : numpy.ndarray
            Real 2-D array (float32 recommended).

        Returns
        -------
        numpy.ndarray
            Array of the same shape and float precision.
        """
        spectrum = scipy.fft.rfft2(data, workers=1)
        spectrum *= self.transfer(data.shape)
        return scipy.fft.irfft2(spectrum, s=data.shape, workers=1)

    def noise_gain(self, shape):
        """Standard deviation of unit white noise after :meth:`filter`.

        Exact (Parseval) for the circular convolution on a grid of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)`` of the array.

        Returns
        -------
        float
        """
        power = self.transfer(shape).astype(np.float64) ** 2
        weights = np.full(power.shape[1], 2.0)
        weights[0] = 1.0
        if shape[1] % 2 == 0:
            weights[-1] = 1.0
        return float(np.sqrt((power * weights).sum() / (shape[0] * shape[1])))

    def add_gaussians(self, image, x, y, flux, intrinsic=None):
        """Add beam-convolved Gaussian sources to an image (in place).

        Each source is evaluated analytically at its exact sub-pixel position
        on a stamp of +-4.5 sigma and normalised so that its pixels sum to
        ``flux * area`` (Jy/beam): the integrated flux density is exact and a
        point source's image is the beam.

        Parameters
        ----------
        image : numpy.ndarray
            2-D float array in Jy/beam, modified in place.
        x, y : array_like
            Pixel positions (0-based; may lie off the grid).
        flux : array_like
            Integrated flux densities in Jy.
        intrinsic : tuple of array_like, optional
            ``(sigma_major, sigma_minor, position_angle)`` of the sources'
            own (deconvolved) Gaussians, in pixels and radians; point sources
            when omitted.
        """
        x, y, flux = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (x, y, flux))
        covariance = np.broadcast_to(self.covariance, (x.size, 2, 2)).copy()
        if intrinsic is not None:
            major, minor, pa = (np.broadcast_to(v, x.shape) for v in intrinsic)
            covariance += gaussian_covariance(major, minor, pa)
        largest = np.sqrt(np.linalg.eigvalsh(covariance)[:, 1])
        halfwidth = np.ceil(4.5 * largest).astype(int)
        total = flux * self.area
        pieces = [
            _gaussian_group(image.shape, x[group], y[group], total[group], covariance[group], size)
            for size in np.unique(halfwidth)
            for group in [halfwidth == size]
        ]
        if pieces:
            index = np.concatenate([piece[0] for piece in pieces])
            weight = np.concatenate([piece[1] for piece in pieces])
            image += np.bincount(index, weights=weight, minlength=image.size).reshape(image.shape)


def gaussian_covariance(sigma_major, sigma_minor, position_angle):
    """Pixel-frame covariance matrices of elliptical Gaussians.

    Parameters
    ----------
    sigma_major, sigma_minor : float or array_like
        Standard deviations along the major and minor axes (pixels).
    position_angle : float or array_like
        Major-axis position angle east of north (radians).

    Returns
    -------
    numpy.ndarray
        Shape ``(..., 2, 2)``.
    """
    dx, dy = direction(np.asarray(position_angle, dtype=np.float64))
    major2 = np.asarray(sigma_major, dtype=np.float64) ** 2
    minor2 = np.asarray(sigma_minor, dtype=np.float64) ** 2
    # The minor axis is the major axis turned by 90 degrees: (dy, -dx).
    cxx = major2 * dx**2 + minor2 * dy**2
    cyy = major2 * dy**2 + minor2 * dx**2
    cxy = (major2 - minor2) * dx * dy
    return np.stack([np.stack([cxx, cxy], -1), np.stack([cxy, cyy], -1)], -2)


def _gaussian_group(shape, x, y, total, covariance, halfwidth):
    """Flat grid indices and values of same-size normalised Gaussian stamps."""
    ix, iy = np.rint(x).astype(int), np.rint(y).astype(int)
    offsets = np.arange(-halfwidth, halfwidth + 1)
    dx = offsets[None, None, :] - (x - ix)[:, None, None]
    dy = offsets[None, :, None] - (y - iy)[:, None, None]
    inverse = np.linalg.inv(covariance)
    exponent = inverse[:, 0, 0, None, None] * dx**2 + inverse[:, 1, 1, None, None] * dy**2
    exponent += 2.0 * inverse[:, 0, 1, None, None] * dx * dy
    stamps = np.exp(-0.5 * exponent)
    stamps *= (total / stamps.sum(axis=(1, 2)))[:, None, None]
    gy = iy[:, None, None] + offsets[None, :, None]
    gx = ix[:, None, None] + offsets[None, None, :]
    inside = (gy >= 0) & (gy < shape[0]) & (gx >= 0) & (gx < shape[1])
    return (gy * shape[1] + gx)[inside], stamps[inside]
