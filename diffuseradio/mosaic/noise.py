"""Robust noise of radio images: the one place the package estimates an rms.

Three estimates, for three needs, all scaled to a Gaussian standard
deviation:

- :func:`mad_std`: 1.4826 times the median absolute deviation, with one
  temporary copy (for large filtered images, where memory counts);
- :func:`clipped_rms`: the same after sigma clipping (3 sigma, 5
  iterations), for pixels that hold sources as well as noise;
- :func:`image_rms`: :func:`clipped_rms` of a whole image, on a regular
  stride for large images and leaving out a constant fill value;
- :func:`rms_map`: the local noise on a mesh of boxes
  (:class:`photutils.background.Background2D`), as PyBDSF's ``rms_box``.
"""

import logging
import warnings

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.utils.exceptions import AstropyUserWarning

from .reading import release_pages

__all__ = ["mad_std", "clipped_rms", "robust_rms", "image_rms", "rms_map"]

log = logging.getLogger(__name__)

#: Pixels sampled at most for the global noise estimate (a regular stride).
MAX_SAMPLES = 4_000_000


def mad_std(values):
    """1.4826 times the median absolute deviation of ``values`` (one temporary copy).

    Parameters
    ----------
    values : numpy.ndarray
        Finite values.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(mad_std(np.random.default_rng(0).normal(0, 2, 100_000)), 1)
    2.0
    """
    centre = np.median(values)
    deviation = np.subtract(values, centre)
    np.abs(deviation, out=deviation)
    return float(1.4826 * np.median(deviation, overwrite_input=True))


def clipped_rms(values):
    """:func:`mad_std` after sigma clipping (3 sigma, 5 iterations), as
    :func:`astropy.stats.sigma_clipped_stats` computes it: the noise of pixels
    that hold sources as well."""
    _, _, std = sigma_clipped_stats(values, sigma=3.0, maxiters=5, stdfunc="mad_std")
    return float(std)


def robust_rms(values):
    """The noise of a set of pixels: :func:`clipped_rms` of the finite ones,
    a constant fill value left out.

    The one estimator of the package's noise figures (an image's global rms,
    a detection's local rms).

    Parameters
    ----------
    values : numpy.ndarray
        Pixel values, NaN where blanked.

    Returns
    -------
    float
        NaN if no pixel is usable.

    Examples
    --------
    >>> import numpy as np
    >>> noise = np.random.default_rng(1).normal(0, 2, 10_000)
    >>> round(robust_rms(np.concatenate([noise, np.zeros(5_000)])), 1)  # zeros: no data
    2.0
    """
    sample = np.asarray(values, dtype=np.float64).ravel()
    sample = _drop_fill_value(sample[np.isfinite(sample)])
    if sample.size == 0:
        return np.nan
    return clipped_rms(sample)


def image_rms(data):
    """Robust global noise of an image: :func:`clipped_rms` of its unblanked pixels.

    Images larger than :data:`MAX_SAMPLES` pixels are sampled on a regular
    stride; a constant fill value (zeros outside the primary beam, say) is
    left out.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, NaN where blanked (a memory-mapped array is read on the
        stride only).

    Returns
    -------
    float
        NaN if no pixel is usable.
    """
    stride = max(1, int(np.ceil(np.sqrt(data.size / MAX_SAMPLES))))
    step = stride * max(1, 256 // stride)  # whole strides of rows, read a block at a time
    sample = []
    for start in range(0, data.shape[0], step):
        sample.append(np.array(data[start : start + step : stride, ::stride]))
        release_pages(data)
    return robust_rms(np.concatenate(sample))


def _drop_fill_value(sample, max_fraction=0.01):
    """Drop a constant fill value (zeros outside coverage, quantised blanks).

    Real noise never repeats one value in more than ``max_fraction`` of the
    pixels; a value that does marks pixels without data.
    """
    values, counts = np.unique(sample, return_counts=True)
    if counts.size and counts.max() > max_fraction * sample.size:
        return sample[sample != values[counts.argmax()]]
    return sample


def rms_map(data, box_pixels, *, filter_size=3, global_rms=None):
    """Local noise on a mesh of boxes, interpolated back to every pixel.

    Sigma-clipped MAD statistics per box
    (:class:`photutils.background.Background2D`), a median filter over
    ``filter_size`` boxes, bicubic interpolation. Blanked pixels are masked
    and stay NaN. Heavily blanked images may have no box that is half
    unblanked: emptier boxes are accepted before giving up, and then the map
    is ``global_rms`` everywhere.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, NaN where blanked.
    box_pixels : int
        Box side in pixels.
    filter_size : int, optional
        Median-filter size in boxes.
    global_rms : float, optional
        The value used when no box is usable (default: :func:`image_rms`).

    Returns
    -------
    numpy.ndarray
        float32, ``data``'s shape, in ``data``'s unit.
    """
    from photutils.background import Background2D, MADStdBackgroundRMS

    box_pixels = min(box_pixels, *data.shape)
    blank = ~np.isfinite(data)
    for exclude_percentile in (50.0, 90.0):
        try:
            with warnings.catch_warnings():
                # Boxes that are mostly blanked are excluded on purpose.
                warnings.filterwarnings("ignore", category=AstropyUserWarning)
                background = Background2D(
                    data,
                    box_pixels,
                    coverage_mask=blank,
                    fill_value=np.nan,
                    filter_size=filter_size,
                    bkg_rms_estimator=MADStdBackgroundRMS(),
                    exclude_percentile=exclude_percentile,
                )
        except ValueError:
            continue
        return background.background_rms.astype(np.float32)
    log.info("too few unblanked pixels for a noise map; using the global rms")
    value = image_rms(data) if global_rms is None else global_rms
    rms = np.full(data.shape, value, dtype=np.float32)
    rms[blank] = np.nan
    return rms
