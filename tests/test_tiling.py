"""Tile grids and blended stitching (pure numpy)."""

import numpy as np
import pytest

from diffuseradio.mosaic.tiling import TileStitcher, blending_window, tile_slices, tile_starts


@pytest.mark.parametrize(
    ("length", "size", "overlap"), [(1000, 256, 32), (257, 256, 32), (97, 32, 0), (5, 64, 8)]
)
def test_tile_starts_cover_axis_and_stay_inside(length, size, overlap):
    starts = tile_starts(length, size, overlap)
    covered = np.zeros(length, dtype=bool)
    for start in starts:
        assert start >= 0
        assert min(start + size, length) <= length
        covered[start : start + size] = True
    assert covered.all()
    if length > size:
        assert starts[-1] == length - size  # last tile shifted, not padded
        steps = np.diff(starts[:-1])
        assert (steps == size - overlap).all()


def test_bad_tiling_parameters():
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(100, 32, 32)
    with pytest.raises(ValueError, match="size"):
        tile_starts(100, 0, 0)


def test_blending_window_is_smooth_and_positive():
    window = blending_window((64, 64), 16)
    assert window.min() > 0
    assert window[32, 32] == 1
    assert np.allclose(window, window.T)
    # Two neighbouring ramps cross-fade to a constant in their overlap:
    ramp = window[32, :16]
    assert np.allclose(ramp + ramp[::-1], ramp[0] + ramp[-1])


@pytest.mark.parametrize(("shape", "size", "overlap"), [((257, 391), 64, 16), ((50, 31), 64, 8)])
def test_identity_stitch_is_exact_with_nans(shape, size, overlap, rng):
    image = rng.normal(size=shape).astype(np.float32)
    image[:7] = np.nan  # blanked border
    image[:, -3:] = np.nan
    image[100:120, 10:30] = np.nan if shape[0] > 120 else image[100:120, 10:30]
    stitcher = TileStitcher(shape, overlap)
    for slices in tile_slices(shape, size, overlap):
        stitcher.add(slices, image[slices])
    result = stitcher.result()
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, image)  # NaN where NaN, exact elsewhere


def test_stitch_blends_without_seams():
    """Tiles that disagree by a constant blend smoothly across the overlap."""
    shape, size, overlap = (64, 200), 64, 32
    stitcher = TileStitcher(shape, overlap)
    for index, slices in enumerate(tile_slices(shape, size, overlap)):
        stitcher.add(slices, np.full((64, 64), float(index)))
    profile = stitcher.result()[32]
    assert np.all(np.diff(profile) >= -1e-6)  # monotonic, no jumps back
    assert np.abs(np.diff(profile)).max() < 0.1  # no seam: steps are small


def test_stitch_channels():
    stitcher = TileStitcher((40, 40), 8, channels=3)
    for slices in tile_slices((40, 40), 16, 8):
        stitcher.add(slices, np.ones((3, 16, 16)))
    result = stitcher.result()
    assert result.shape == (3, 40, 40)
    assert np.all(result == 1)
