"""Labelling a probability map a strip of rows at a time."""

import numpy as np
import pytest
from scipy import ndimage

from diffuseradio.postprocess import segment


def whole_image_segment(probability, threshold, min_area, low):
    """The definition: label the whole map at once, keep seeded regions large enough."""
    labels, count = ndimage.label(probability >= low)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    seeded = np.zeros(count + 1, bool)
    seeded[np.unique(labels[probability >= threshold])] = True
    keep = seeded & (areas >= min_area)
    keep[0] = False
    renumber = np.zeros(count + 1, np.int64)
    renumber[keep] = np.arange(1, keep.sum() + 1)
    return renumber[labels]


@pytest.fixture(scope="module")
def smooth_map():
    """A map with hundreds of regions of every shape: U-turns, spirals of noise, blanks."""
    rng = np.random.default_rng(4)
    field = ndimage.gaussian_filter(rng.normal(size=(700, 500)), 4)
    probability = (field - field.min()) / np.ptp(field)
    probability[300:340, 100:400] = np.nan  # a blanked band through regions
    return probability.astype(np.float32)


@pytest.mark.parametrize("rows", [1, 7, 64, 1000])
@pytest.mark.parametrize(("threshold", "low", "min_area"), [(0.6, 0.6, 1), (0.65, 0.5, 30)])
def test_strips_give_the_whole_image_labels(smooth_map, rows, threshold, low, min_area):
    expected = whole_image_segment(smooth_map, threshold, min_area, low)
    labels = segment(smooth_map, threshold, min_area=min_area, low_threshold=low, rows=rows)
    assert expected.max() > 20  # many regions, many of them across strips
    np.testing.assert_array_equal(labels, expected)


def test_labels_in_the_smallest_integer_type(smooth_map):
    few = segment(smooth_map, 0.65, min_area=30, low_threshold=0.5)
    assert few.dtype == np.uint8 and 20 < few.max() <= 255
    assert segment(smooth_map, 0.6).dtype == np.int16  # more than 255 regions
    many = np.zeros((600, 600), np.float32)
    many[::2, ::2] = 1  # 90000 single-pixel regions
    labels = segment(many, 0.5, rows=50)
    assert labels.dtype == np.int32 and labels.max() == 90000
    assert labels[0, 0] == 1 and labels[0, 2] == 2 and labels[2, 0] == 301


def test_nothing_detected():
    labels = segment(np.full((40, 30), 0.1, np.float32), 0.5, rows=8)
    assert labels.dtype == np.uint8 and not labels.any()


def test_low_threshold_above_threshold_refused():
    with pytest.raises(ValueError, match="must not exceed threshold"):
        segment(np.zeros((4, 4)), 0.5, low_threshold=0.6)
