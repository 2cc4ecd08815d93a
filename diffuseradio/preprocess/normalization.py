"""The image normalisation shared by training and inference.

A network sees images in units of the local noise, compressed so that faint
diffuse emission (0.5-5 sigma per beam) and bright compact sources (thousands
of sigma) both stay in a numerically comfortable range. Training and inference
call :func:`normalize` with the name and parameters recorded in the model card,
so a model always sees its input the way it was trained.
"""

import numpy as np

__all__ = ["NORMALIZATIONS", "normalize", "network_input"]


def _snr_asinh(data, rms, *, softening=3.0):
    """``asinh(S / (softening * rms))``: linear below, logarithmic above."""
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = np.asarray(data, dtype=np.float32) / np.asarray(rms, dtype=np.float32)
    out = np.arcsinh(snr / np.float32(softening), dtype=np.float32)
    return out


#: Registered normalisations: name -> function(data, rms, **parameters).
NORMALIZATIONS = {"snr_asinh": _snr_asinh}


def normalize(data, rms, *, name="snr_asinh", parameters=None):
    """Normalise a surface-brightness image for a network.

    Parameters
    ----------
    data : array_like
        Image in Jy/beam (or any unit, as long as ``rms`` has the same one).
        NaN marks blanked pixels.
    rms : float or array_like
        Noise level, a scalar or a map broadcastable to ``data``.
    name : str, optional
        Registered normalisation, see :data:`NORMALIZATIONS`. The default
        ``"snr_asinh"`` computes ``asinh(data / (softening * rms))``.
    parameters : dict, optional
        Keyword parameters of the normalisation (``softening`` for
        ``"snr_asinh"``, default 3).

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape; blanked pixels and pixels with an
        invalid noise level are 0.

    Raises
    ------
    ValueError
        For an unknown normalisation name.

    Examples
    --------
    >>> import numpy as np
    >>> from diffuseradio.preprocess.normalization import normalize
    >>> normalize(np.array([0.0, 3e-4, np.nan]), 1e-4)  # doctest: +FLOAT_CMP
    array([0.        , 0.88137364, 0.        ], dtype=float32)
    """
    try:
        function = NORMALIZATIONS[name]
    except KeyError:
        known = ", ".join(sorted(NORMALIZATIONS))
        raise ValueError(f"unknown normalisation {name!r}; known: {known}") from None
    out = function(data, rms, **(parameters or {}))
    out[~np.isfinite(out)] = 0.0
    return out


def network_input(mosaic, *, name="snr_asinh", parameters=None, rms_box_beams=30.0):
    """The normalised image a network sees, from a mosaic on its working grid.

    The local noise is measured with :meth:`SurveyMosaic.rms_map
    <diffuseradio.SurveyMosaic.rms_map>` in boxes ``rms_box_beams`` beams
    across (at most half the image side), then :func:`normalize`
    is applied. Training and inference both call this function with the
    model card's ``normalization`` entry.

    Parameters
    ----------
    mosaic : `~diffuseradio.SurveyMosaic`
        Image already at the model's working beam and pixel scale.
    name : str, optional
        Normalisation name (see :data:`NORMALIZATIONS`).
    parameters : dict, optional
        Keyword parameters of the normalisation.
    rms_box_beams : float, optional
        Side of the noise boxes, in beams (major axis).

    Returns
    -------
    image : numpy.ndarray
        float32 normalised image (0 where blanked).
    rms : numpy.ndarray
        float32 local noise map used (Jy/beam, NaN where blanked).
    """
    import astropy.units as u

    box_pixels = rms_box_beams * float(mosaic.beam.major / mosaic.pixel_scale)
    box_pixels = int(round(min(box_pixels, max(16, min(mosaic.shape) // 2))))
    rms = mosaic.rms_map(box=box_pixels).to_value(u.Jy / u.beam)
    return normalize(mosaic.data, rms, name=name, parameters=parameters), rms
