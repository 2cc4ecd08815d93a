"""Images smaller than a tile, embedded in noise (diffuseradio.preprocess.noise_embedding)."""

import numpy as np
import pytest

from diffuseradio.preprocess import embed_in_noise, normalize


def test_small_image_placed_exactly_at_the_centre():
    image = np.random.default_rng(0).normal(size=(2, 37, 300)).astype(np.float32)
    embedded, window = embed_in_noise(image, 128, [3.3, 1.0])
    assert embedded.shape == (2, 128, 300)
    assert window == (slice(45, 82), slice(0, 300))
    np.testing.assert_array_equal(embedded[(slice(None), *window)], image)


def test_image_of_a_tile_or_more_left_alone():
    image = np.zeros((1, 256, 300), np.float32)
    embedded, window = embed_in_noise(image, 256, [3.3], blank=np.zeros((256, 300), bool))
    assert embedded is image
    assert window == (slice(0, 256), slice(0, 300))


def test_blanked_pixels_of_a_large_image_get_noise():
    """A mosaic's coverage edge: blanks filled with unit-rms noise, the rest untouched."""
    rng = np.random.default_rng(1)
    image = rng.normal(size=(1, 600, 700)).astype(np.float32)
    yy, xx = np.mgrid[:600, :700]
    blank = np.hypot(yy - 300, xx - 350) > 280
    image[0, blank] = 0.0  # what a blanked pixel is after normalisation
    embedded, window = embed_in_noise(image, 256, [3.3], blank=blank)
    assert embedded.shape == image.shape and window == (slice(0, 600), slice(0, 700))
    np.testing.assert_array_equal(embedded[0, ~blank], image[0, ~blank])
    filled = 3.0 * np.sinh(embedded[0, blank].astype(float))
    assert filled.std() == pytest.approx(1.0, rel=0.05)
    assert abs(filled.mean()) < 0.1
    assert image[0, blank].max() == 0.0  # the input is not modified


@pytest.mark.parametrize("fwhm", [3.3, 6.0])  # beams sampled by 3 pixels or more
def test_noise_of_unit_rms_correlated_by_the_beam(fwhm):
    """Inverting the normalisation gives unit-rms noise with the beam's autocorrelation."""
    softening = 3.0
    embedded, _ = embed_in_noise(
        np.zeros((1, 1, 1), np.float32), 512, [fwhm], parameters={"softening": softening}
    )
    noise = softening * np.sinh(embedded[0].astype(float))
    assert noise.std() == pytest.approx(1.0, rel=0.02)
    for lag in (1, 2, 4):
        measured = np.mean(noise[:, :-lag] * noise[:, lag:]) / noise.var()
        beam = np.exp(-4 * np.log(2) * lag**2 / fwhm**2)
        assert measured == pytest.approx(beam, abs=0.05)


def test_same_noise_every_time():
    image = np.ones((1, 10, 10), np.float32)
    first, _ = embed_in_noise(image, 64, [3.3])
    second, _ = embed_in_noise(image, 64, [3.3])
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, embed_in_noise(image, 64, [3.3], seed=1)[0])


def test_noise_passes_through_the_normalisation():
    embedded, window = embed_in_noise(np.zeros((1, 8, 8), np.float32), 64, [2.0])
    outside = embedded[0, : window[0].start]
    assert np.all(np.abs(outside) < np.arcsinh(10 / 3))  # no pixel beyond 10 sigma
    assert normalize(np.array([3.0]), 1.0)[0] == pytest.approx(np.arcsinh(1.0))


def test_one_beam_per_channel():
    with pytest.raises(ValueError, match="2 beams given for 1 channels"):
        embed_in_noise(np.zeros((1, 8, 8), np.float32), 64, [3.3, 1.0])


def test_blank_mask_of_the_image_shape():
    with pytest.raises(ValueError, match=r"blank has shape \(8, 9\), the image \(8, 8\)"):
        embed_in_noise(np.zeros((1, 8, 8), np.float32), 64, [3.3], blank=np.ones((8, 9), bool))
