"""Compact-source subtraction: the tapered image without what the native one shows as compact.

Diffuse emission is looked for, by eye and by source finders, in a
low-resolution image from which the compact sources have been subtracted
(LoTSS-DR2 clusters: Botteon et al. 2022, A&A 660, A78). A mini-halo of a
few tens of kpc around a radio-loud brightest cluster galaxy is the clearest
case: at 20" the galaxy can be a hundred times brighter than the halo and
hide it in its beam, while at 6" the galaxy is a point and the halo a faint
disc around it.

Interferometric pipelines subtract the compact sources in the visibilities
(a uv-cut). With only the two images, :func:`subtract_compact` does the
image-plane equivalent:

1. on the native image's own (well-sampled) grid, a grey white top-hat (the
   image minus its morphological opening over a square of ``size_beams``
   native beams) keeps what is narrower than the square;
2. of that, the connected parts above ``grow_snr`` that reach ``seed_snr``
   (against the native image's robust rms) are the compact sources;
3. they are convolved from the native beam to the tapered one, scaled from
   Jy per native beam to Jy per tapered beam (the ratio of the beam areas),
   sampled at the tapered image's pixel centres
   (:func:`~diffuseradio.mosaic.regrid.pixel_sample`) and subtracted.

Emission broader than the square (halos, relics, lobes) stays; sources close
to the square's size are subtracted in part, and so is the part of a
diffuse source that is narrower than the square (a mini-halo's central cusp).
"""

import numpy as np
from radio_beam import Beam
from scipy import ndimage

from ..mosaic.noise import mad_std
from ..mosaic.regrid import pixel_sample, sample_positions

__all__ = ["compact_emission", "compact_model", "subtract_compact"]

#: Side of the top-hat's square, in native beam FWHMs (18" for LoTSS 6").
TOPHAT_BEAMS = 3.0


def compact_emission(image, size_pixels, *, seed_snr=5.0, grow_snr=3.0):
    """The compact part of an image: a top-hat, kept where it is significant.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (NaN is read as 0).
    size_pixels : int
        Side of the top-hat's square; structures narrower than it are compact.
    seed_snr, grow_snr : float, optional
        Connected parts of the top-hat above ``grow_snr`` times the image's
        robust rms (1.4826 times its median absolute deviation) are kept when
        they reach ``seed_snr`` times it.

    Returns
    -------
    numpy.ndarray
        float32, the kept top-hat (0 elsewhere), in the image's units; never
        above the image itself (a bump in a negative bowl is only
        compact down to 0).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(1).normal(0, 1, (64, 64))
    >>> image[20:44, 20:44] += 5.0   # broad: not compact
    >>> image[10, 10] += 50.0        # a point source
    >>> compact = compact_emission(image, 3)
    >>> bool(compact[10, 10] > 45), float(compact[24:40, 24:40].max()) < 10
    (True, True)
    """
    if grow_snr > seed_snr:
        raise ValueError(f"grow_snr ({grow_snr}) must not exceed seed_snr ({seed_snr})")
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
    rms = mad_std(values)
    # the top-hat, computed in place: image minus its opening, never above the image or below 0
    top = ndimage.grey_opening(values, size=(int(size_pixels), int(size_pixels)))
    np.subtract(values, top, out=top)
    np.minimum(top, values, out=top)  # not above the image: no bumps in a bowl
    np.maximum(top, 0, out=top)
    if not rms > 0:
        return np.zeros_like(top)
    del values
    parts, count = ndimage.label(top > grow_snr * rms)
    if not count:
        return np.zeros_like(top)
    peaks = np.asarray(ndimage.maximum(top, parts, np.arange(1, count + 1)))
    keep = np.concatenate([[False], peaks >= seed_snr * rms])
    top[~keep[parts]] = 0
    return top


def compact_model(native, tapered, *, size_beams=TOPHAT_BEAMS, seed_snr=5.0, grow_snr=3.0):
    """The compact sources of a native image as the tapered image shows them.

    Parameters
    ----------
    native : `~diffuseradio.SurveyMosaic`
        The image at the finer beam (e.g. LoTSS 6" on 1.5" pixels), on a grid
        that maps onto ``tapered``'s by a scale and a shift.
    tapered : `~diffuseradio.SurveyMosaic`
        The image at the coarser beam; only its grid and beam are used.
    size_beams : float, optional
        Side of the top-hat's square in native beam FWHMs
        (:data:`TOPHAT_BEAMS`).
    seed_snr, grow_snr : float, optional
        Significance of the compact sources (see :func:`compact_emission`).

    Returns
    -------
    numpy.ndarray
        float32 model of the compact sources on ``tapered``'s grid, in Jy per
        ``tapered``'s beam.

    Raises
    ------
    ValueError
        If the native beam is not finer than the tapered one.
    diffuseradio.IncompatibleResolutionError
        If the grids are not related by a scale and a shift.
    """
    _check_finer(native.beam, tapered.beam)
    pixel = native.pixel_scale
    size = max(3, int(round(float(size_beams * native.beam.major / pixel))))
    compact = compact_emission(native.data, size, seed_snr=seed_snr, grow_snr=grow_snr)
    if compact.any():
        kernel = tapered.beam.deconvolve(_sampled_beam(native, tapered)).as_kernel(pixel).array
        scale = float(tapered.beam.sr / native.beam.sr) / kernel.sum()
        kernel = (kernel * scale).astype(np.float32)  # float32 FFTs: half the memory
        from scipy.signal import oaconvolve  # 0.5 s to import: only when needed

        compact = oaconvolve(compact, kernel, mode="same")
    return pixel_sample(native.derived(compact, native.wcs, beam=tapered.beam), tapered)


def subtract_compact(tapered, native, **kwargs):
    """The tapered image with the native image's compact sources subtracted.

    Parameters
    ----------
    tapered : `~diffuseradio.SurveyMosaic`
        The low-resolution image (e.g. LoTSS 20"), in Jy/beam.
    native : `~diffuseradio.SurveyMosaic`
        The same field at a finer beam (e.g. LoTSS 6"), on a grid that maps
        onto ``tapered``'s by a scale and a shift (the same projection and
        centre, as the LoTSS mosaics or any grid made by
        :meth:`~diffuseradio.SurveyMosaic.resample`).
    **kwargs
        ``size_beams``, ``seed_snr``, ``grow_snr`` of ``compact_model``.

    Returns
    -------
    `~diffuseradio.SurveyMosaic`
        ``tapered`` minus the compact sources at its beam: same grid, beam
        and units; NaN where ``tapered`` is.

    Raises
    ------
    ValueError
        If the native beam is not finer than the tapered one.
    diffuseradio.IncompatibleResolutionError
        If the two grids are not related by a scale and a shift.
    """
    model = compact_model(native, tapered, **kwargs)
    return tapered.derived(np.asarray(tapered.data, dtype=np.float32) - model, tapered.wcs)


def _sampled_beam(native, tapered):
    """The native beam and the smoothing of bilinear sampling at ``tapered``'s pixel centres.

    Interpolating linearly at a fraction ``f`` of a pixel ``p`` between two
    samples adds a variance of ``f (1 - f) p^2`` (a quarter pixel squared
    halfway); averaged over the output pixels and the two axes, it is taken
    out of the convolution kernel so that sampled peaks keep their height.
    """
    phases = [np.mod(positions, 1.0) for positions in sample_positions(native, tapered)]
    variance = np.mean([np.mean(f * (1 - f)) for f in phases]) * native.pixel_scale**2
    if variance <= 0:
        return native.beam
    return native.beam.convolve(Beam(np.sqrt(8 * np.log(2) * variance)))


def _check_finer(native, beam):
    """Raise ValueError unless beam ``native`` is finer than ``beam``."""
    if not native.major < beam.minor:
        raise ValueError(
            f"the native image's beam ({native.major.to_value('arcsec'):.3g} arcsec) must be "
            f"finer than the tapered image's ({beam.minor.to_value('arcsec'):.3g} arcsec)"
        )
