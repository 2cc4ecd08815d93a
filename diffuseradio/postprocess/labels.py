"""From a probability map to labelled detections (pure numpy/scipy).

Used by the detector and by the training's object-level validation, so a
model is validated with the post-processing it is run with.
"""

import numpy as np
from scipy import ndimage

__all__ = ["segment"]


def segment(probability, threshold, *, min_area=1, low_threshold=None):
    """Label connected regions of high probability.

    Parameters
    ----------
    probability : numpy.ndarray
        2-D probability map (NaN = blanked, never detected).
    threshold : float
        Pixels at or above it seed detections.
    min_area : float, optional
        Regions with fewer pixels are dropped.
    low_threshold : float, optional
        Hysteresis: regions grow over connected pixels down to this level
        (default: no growth, ``low_threshold = threshold``).

    Returns
    -------
    numpy.ndarray
        int32 labels 1..n, numbered in raster order of each region's first
        pixel; 0 is background.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros((5, 8)); p[1:3, 1:3] = 0.9; p[1:4, 5:7] = 0.6; p[2, 3:5] = 0.4
    >>> segment(p, 0.5, min_area=5)
    array([[0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 0, 0, 0]], dtype=int32)
    >>> segment(p, 0.5, min_area=5, low_threshold=0.3)[2]
    array([0, 1, 1, 1, 1, 1, 1, 0], dtype=int32)
    """
    probability = np.asarray(probability, dtype=np.float32)
    low = threshold if low_threshold is None else low_threshold
    if low > threshold:
        raise ValueError(f"low_threshold {low} must not exceed threshold {threshold}")
    labels, count = ndimage.label(probability >= low)  # NaN compares False: never detected
    if count == 0:
        return labels.astype(np.int32)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    if low < threshold:
        seeded = np.zeros(count + 1, dtype=bool)
        seeded[np.unique(labels[probability >= threshold])] = True
    else:
        seeded = np.ones(count + 1, dtype=bool)
    keep = seeded & (areas >= min_area)
    keep[0] = False
    renumber = np.zeros(count + 1, dtype=np.int32)
    renumber[keep] = np.arange(1, keep.sum() + 1, dtype=np.int32)
    return renumber[labels]
