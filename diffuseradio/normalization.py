"""The image normalisation shared by training and inference.

A network sees images in units of the local noise, compressed so that faint
diffuse emission (0.5-5 sigma per beam) and bright compact sources (thousands
of sigma) both stay in a numerically comfortable range. Training and inference
call :func:`normalize` with the name and parameters recorded in the model card,
so a model always sees its input the way it was trained.
"""

import numpy as np

__all__ = ["NORMALIZATIONS", "normalize"]


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
    >>> from diffuseradio.normalization import normalize
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
