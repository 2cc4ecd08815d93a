"""Writing 2-D FITS images a strip of rows at a time.

A LoTSS-DR2 mosaic's probability map is 360 MB of float32; written whole,
astropy first makes a big-endian copy of it. :func:`write_image_strips`
writes the header and then each strip as it comes (converted to the FITS
byte order one strip at a time), under a temporary name renamed when the
file is complete, so neither a second full copy nor a partial file exists.
"""

import numpy as np
from astropy.io import fits

from ..atomic import atomic_write

__all__ = ["write_image_strips", "smallest_label_type"]


def smallest_label_type(largest):
    """The smallest FITS integer type that holds labels up to ``largest``.

    Parameters
    ----------
    largest : int
        The largest label.

    Returns
    -------
    numpy.dtype
        uint8 (FITS ``BITPIX = 8``) up to 255, int16 up to 32767, else int32.
    """
    for dtype in (np.uint8, np.int16):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int32)


def write_image_strips(path, header, shape, dtype, strips):
    """Write a 2-D image to a FITS file from strips of rows.

    Parameters
    ----------
    path : str or os.PathLike
        The file (replaced when complete; nothing is left if writing fails).
    header : astropy.io.fits.Header
        WCS and other cards; the structural ones (``SIMPLE``, ``BITPIX``,
        ``NAXIS*``) are set here.
    shape : tuple of int
        ``(ny, nx)``.
    dtype : numpy.dtype
        The pixel type in the file (float32, uint8, int16, int32...).
    strips : iterable of numpy.ndarray
        ``(rows, nx)`` arrays, in order, covering the ``ny`` rows.

    Raises
    ------
    ValueError
        If the strips do not cover the image exactly.
    """
    dtype = np.dtype(dtype)
    full = fits.Header()
    full["SIMPLE"] = True
    full["BITPIX"] = fits.DTYPE2BITPIX[dtype.name]
    full["NAXIS"] = 2
    full["NAXIS1"], full["NAXIS2"] = shape[1], shape[0]
    for card in header.cards:
        if card.keyword not in full and card.keyword not in ("EXTEND", "BZERO", "BSCALE"):
            full.append(card)
    big_endian = dtype.newbyteorder(">")

    def write(temporary):
        written = 0
        stream = fits.StreamingHDU(temporary, full)
        try:
            for strip in strips:
                if strip.ndim != 2 or strip.shape[1] != shape[1]:
                    raise ValueError(f"a strip of shape {strip.shape} for an image of {shape}")
                written += strip.shape[0]
                if written > shape[0]:
                    raise ValueError(f"the strips have more than the image's {shape[0]} rows")
                stream.write(np.asarray(strip).astype(big_endian))
        finally:
            stream.close()
        if written != shape[0]:
            raise ValueError(f"the strips cover {written} of the image's {shape[0]} rows")

    atomic_write(path, write)
