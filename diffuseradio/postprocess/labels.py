"""From a probability map to labelled detections (pure numpy/scipy).

Used by the detector and by the training's object-level validation, so a
model is validated with the post-processing it is run with.

:func:`segment` labels a map a strip of rows at a time, so that a
LoTSS-DR2 mosaic's map is never copied whole: each strip is labelled on its
own (:func:`scipy.ndimage.label`), the regions that continue across a strip
boundary are joined (connected components of the graph of those contacts,
:func:`scipy.sparse.csgraph.connected_components`), and the strips with
regions are labelled again, from their masks kept bit-packed (1/32 of the
map's size), with the joined, filtered and renumbered labels.
"""

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

from ..mosaic.writing import smallest_label_type

__all__ = ["segment"]


def segment(probability, threshold, *, min_area=1, low_threshold=None, rows=256):
    """Label connected regions of high probability.

    Regions are 4-connected (pixels sharing an edge).

    Parameters
    ----------
    probability : numpy.ndarray
        2-D probability map (NaN = blanked, never detected); read a strip of
        rows at a time, so it may be memory-mapped.
    threshold : float
        Pixels at or above it seed detections.
    min_area : float, optional
        Regions with fewer pixels are dropped.
    low_threshold : float, optional
        Hysteresis: regions grow over connected pixels down to this level
        (default: no growth, ``low_threshold = threshold``).
    rows : int, optional
        Rows per strip (the result does not depend on it).

    Returns
    -------
    numpy.ndarray
        Labels 1..n, numbered in raster order of each region's first pixel;
        0 is background. In the smallest of uint8, int16 and int32 that holds
        them.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros((5, 8)); p[1:3, 1:3] = 0.9; p[1:4, 5:7] = 0.6; p[2, 3:5] = 0.4
    >>> segment(p, 0.5, min_area=5)
    array([[0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 1, 1, 0],
           [0, 0, 0, 0, 0, 0, 0, 0]], dtype=uint8)
    >>> segment(p, 0.5, min_area=5, low_threshold=0.3)[2]
    array([0, 1, 1, 1, 1, 1, 1, 0], dtype=uint8)
    """
    low = threshold if low_threshold is None else low_threshold
    if low > threshold:
        raise ValueError(f"low_threshold {low} must not exceed threshold {threshold}")
    regions = _StripRegions()
    for start in range(0, probability.shape[0], rows):
        regions.add(np.asarray(probability[start : start + rows], dtype=np.float32), low, threshold)
    lookup = regions.final_labels(min_area)
    out = np.zeros(probability.shape, dtype=smallest_label_type(int(lookup.max(initial=0))))
    for start, packed, offset, count in regions.strips:
        if not lookup[offset + 1 : offset + count + 1].any():
            continue  # none of its regions is kept
        local, _ = ndimage.label(np.unpackbits(packed, axis=1, count=out.shape[1]).view(bool))
        out[start : start + local.shape[0]] = lookup[np.where(local > 0, local + offset, 0)]
    return out


class _StripRegions:
    """The regions of successive strips, and which of them touch across strips."""

    def __init__(self):
        self.areas = [np.zeros(1, np.int64)]  # entry 0: the background
        self.seeded = [np.zeros(1, bool)]
        self.contacts = []
        self.count = 0
        self.rows = 0
        self.last_row = None
        # (first row, mask bit-packed, label offset, count) of the strips with regions
        self.strips = []

    def add(self, probability, low, threshold):
        """Label the next strip of rows (4-connected regions at or above ``low``)."""
        start = self.rows
        self.rows += probability.shape[0]
        above = probability >= low  # NaN compares False: never detected
        if not above.any():  # nothing to join to the next strip
            self.last_row = None
            return
        local, count = ndimage.label(above)
        self.strips.append((start, np.packbits(above, axis=1), self.count, count))
        self.areas.append(np.bincount(local.ravel(), minlength=count + 1)[1:])
        seeded = np.zeros(count + 1, bool)
        seeded[local[probability >= threshold]] = True
        self.seeded.append(seeded[1:])
        first_row = np.where(local[0] > 0, local[0] + self.count, 0)
        if self.last_row is not None:
            touching = (self.last_row > 0) & (first_row > 0)
            self.contacts.append(np.stack([self.last_row[touching], first_row[touching]]))
        self.last_row = np.where(local[-1] > 0, local[-1] + self.count, 0)
        self.count += count

    def final_labels(self, min_area):
        """Final label of every strip region: joined, filtered, renumbered in raster order."""
        total = self.count + 1
        contacts = np.concatenate([np.zeros((2, 0), np.int64), *self.contacts], axis=1)
        graph = sparse.coo_matrix(
            (np.ones(contacts.shape[1], np.int8), (contacts[0], contacts[1])), shape=(total, total)
        )
        _, region = connected_components(graph, directed=False)
        areas = np.bincount(region, weights=np.concatenate(self.areas))
        seeded = np.bincount(region, weights=np.concatenate(self.seeded)) > 0
        first = np.full(areas.size, total)
        np.minimum.at(first, region, np.arange(total))  # the strip labels follow raster order
        keep = seeded & (areas >= min_area)
        keep[region[0]] = False
        kept = np.flatnonzero(keep)
        final = np.zeros(areas.size, np.int64)
        final[kept[np.argsort(first[kept])]] = np.arange(1, kept.size + 1)
        return final[region]
