"""FITS images written a strip of rows at a time."""

import numpy as np
import pytest
from astropy.io import fits
from helpers import lotss_wcs

from diffuseradio.mosaic.writing import smallest_label_type, write_image_strips


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int16, np.int32])
def test_strips_read_back_exactly(tmp_path, dtype):
    rng = np.random.default_rng(1)
    image = (
        rng.normal(0, 100, (301, 77)) if dtype == np.float32 else rng.integers(0, 120, (301, 77))
    )
    image = image.astype(dtype)
    if dtype == np.float32:
        image[:5] = np.nan
    header = lotss_wcs((301, 77)).to_header()
    header["BUNIT"] = ("", "a test")
    path = tmp_path / "image.fits"
    write_image_strips(
        path, header, image.shape, dtype, (image[i : i + 64] for i in range(0, 301, 64))
    )
    with fits.open(path) as hdul:
        assert len(hdul) == 1
        assert hdul[0].data.dtype == np.dtype(dtype).newbyteorder(">")
        np.testing.assert_array_equal(hdul[0].data, image)
        assert hdul[0].header["CRVAL1"] == header["CRVAL1"]
        assert hdul[0].header["BUNIT"] == ""


def test_strips_that_do_not_cover_the_image_leave_no_file(tmp_path):
    image = np.zeros((100, 10), np.float32)
    path = tmp_path / "short.fits"
    with pytest.raises(ValueError, match="cover 64 of the image's 100 rows"):
        write_image_strips(path, fits.Header(), image.shape, np.float32, [image[:64]])
    with pytest.raises(ValueError, match="more than the image's 100 rows"):
        write_image_strips(path, fits.Header(), image.shape, np.float32, [image, image])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("largest", "dtype"), [(0, np.uint8), (255, np.uint8), (256, np.int16), (40000, np.int32)]
)
def test_smallest_label_type(largest, dtype):
    assert smallest_label_type(largest) == dtype
