"""Noise where the network would see no sky: blanked pixels and the margin of small images.

The networks were trained on tiles of ``tile_size`` working pixels that are
mostly noise (a tenth of them with a blanked edge over at most a third of
the tile), and their group normalisation takes its statistics over the
whole input. A post-stamp smaller than a tile (a cluster cut-out of a few
arcminutes), or the few unblanked pixels of a tile at a mosaic's coverage
edge, changes those statistics: a halo that fills most of what the network
sees is normalised away. So the network is given noise like the image's own
-- Gaussian, correlated by each channel's beam, of unit rms in S/N units,
passed through the model's normalisation -- in the blanked pixels, and
around an image smaller than a tile, which is placed at the centre of a
tile; its output is cut back to the image, and stays NaN where the image
is blanked. The noise is drawn once per call from a fixed seed as one
periodic tile and repeated, so that a detection is reproducible and a large
mosaic costs no more memory than a copy of its network input.

On 5' cut-outs of simulated fields the detector found 0.53 of the diffuse
sources without the noise and 0.87 with it (0.76 in the whole fields); a
5' real LoTSS field with injected halos and relics, placed in a blanked
25' image: 11 of 48 sources found with zeros in the blanks, 40 with noise.
"""

import numpy as np
from scipy import ndimage

from .normalization import normalize

__all__ = ["embed_in_noise"]

#: Gaussian FWHM over sigma.
_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


def embed_in_noise(
    image, tile_size, beam_pixels, *, blank=None, name="snr_asinh", parameters=None, seed=0
):
    """A normalised image with noise in its blanks, at least a tile across.

    Parameters
    ----------
    image : numpy.ndarray
        ``(C, H, W)`` normalised network input (:func:`normalize`'s units).
    tile_size : int
        The network's tile side (working pixels); an image with a shorter
        side is placed at the centre of a canvas that side long, and the
        noise has this period.
    beam_pixels : sequence of float
        Per channel, the FWHM of its beam in working pixels: the noise's
        correlation length.
    blank : numpy.ndarray, optional
        ``(H, W)`` bool, the blanked pixels of ``image``, which get noise
        too.
    name, parameters : optional
        The model's normalisation (see :func:`normalize`).
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    embedded : numpy.ndarray
        float32 ``(C, max(H, tile_size), max(W, tile_size))``; ``image``
        itself (not a copy) when no side is shorter than a tile and nothing
        is blanked.
    window : tuple of slice
        Where ``image`` lies in ``embedded``: outside the blanks,
        ``embedded[(slice(None), *window)]`` is ``image`` exactly.

    Raises
    ------
    ValueError
        If ``beam_pixels`` does not give one beam per channel, or ``blank``
        does not have the image's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from diffuseradio.preprocess.noise_embedding import embed_in_noise
    >>> image = np.ones((1, 50, 300), dtype=np.float32)
    >>> embedded, window = embed_in_noise(image, 256, [3.3])
    >>> embedded.shape, window
    ((1, 256, 300), (slice(103, 153, None), slice(0, 300, None)))
    >>> bool(np.array_equal(embedded[(slice(None), *window)], image))
    True
    """
    image = np.asarray(image, dtype=np.float32)
    channels, height, width = image.shape
    if len(beam_pixels) != channels:
        raise ValueError(f"{len(beam_pixels)} beams given for {channels} channels")
    if blank is not None and np.shape(blank) != (height, width):
        raise ValueError(f"blank has shape {np.shape(blank)}, the image ({height}, {width})")
    shape = (max(height, tile_size), max(width, tile_size))
    top, left = (shape[0] - height) // 2, (shape[1] - width) // 2
    window = (slice(top, top + height), slice(left, left + width))
    has_blanks = blank is not None and bool(np.any(blank))
    if shape == (height, width) and not has_blanks:
        return image, window
    holes = np.ones(shape, dtype=bool)
    holes[window] = blank if has_blanks else False
    embedded = np.zeros((channels, *shape), dtype=np.float32)
    embedded[(slice(None), *window)] = image
    rng = np.random.default_rng(seed)
    for channel, fwhm in enumerate(beam_pixels):
        patch = normalize(
            _correlated_noise((tile_size, tile_size), fwhm, rng),
            1.0,
            name=name,
            parameters=parameters,
        )
        _fill_periodically(embedded[channel], holes, patch)
    return embedded, window


def _correlated_noise(shape, fwhm, rng):
    """Unit-rms periodic Gaussian noise whose autocorrelation is a Gaussian of FWHM ``fwhm``.

    An image's noise is correlated by its beam: white noise smoothed by a
    Gaussian of ``sigma_beam / sqrt(2)`` has the beam's autocorrelation.
    The smoothing wraps around, so the noise tiles without seams.
    """
    white = rng.standard_normal(shape, dtype=np.float32)
    sigma = fwhm / _FWHM / np.sqrt(2.0)
    noise = ndimage.gaussian_filter(white, sigma, mode="wrap") if sigma > 0 else white
    return noise / noise.std(dtype=np.float64)


def _fill_periodically(plane, holes, patch):
    """Write ``patch``, repeated over ``plane``, into its ``holes``; a block of rows at a time."""
    period = patch.shape[0]
    repeats = -(-plane.shape[1] // patch.shape[1])
    for start in range(0, plane.shape[0], period):
        rows = slice(start, start + period)
        where = holes[rows]
        if where.any():
            strip = np.tile(patch[: where.shape[0]], (1, repeats))[:, : plane.shape[1]]
            plane[rows][where] = strip[where]
