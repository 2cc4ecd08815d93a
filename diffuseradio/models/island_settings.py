"""The island stage's settings: how islands are found and cut out (a card's ``islands``)."""

from dataclasses import dataclass

__all__ = ["IslandSettings", "CLASSIFIER_KEYS"]

#: Keys of a card's ``islands`` that describe the classifier, not the islands.
CLASSIFIER_KEYS = ("args",)


@dataclass(frozen=True)
class IslandSettings:
    """How islands are found and cut out (a model card's ``islands`` section).

    Parameters
    ----------
    seed_snr : float
        An island holds at least one pixel at or above this S/N.
    grow_snr : float
        Islands extend over connected pixels down to this S/N.
    min_area_beams, max_area_beams : float
        Islands outside this area range (working beams) are not classified:
        smaller ones are unresolved, larger ones are left to the
        segmentation network.
    cutout_pixels : int
        Side of the square cutout, in working-grid pixels.
    region_threshold : float or None
        None: the islands only raise the probability. A probability in
        (0, 1): each connected region of the segmentation network's
        probability at or above it, of which at least ``region_cover`` lies
        on classified islands, is capped at the highest score of those
        islands (see ``paint_islands``).
    region_cover : float
        Fraction of a region's pixels on islands for the cap to apply.
    """

    seed_snr: float = 5.0
    grow_snr: float = 3.0
    min_area_beams: float = 4.0
    max_area_beams: float = 300.0
    cutout_pixels: int = 32
    region_threshold: float | None = None
    region_cover: float = 0.3

    def __post_init__(self):
        if not 0 < self.grow_snr <= self.seed_snr:
            raise ValueError(
                f"islands need 0 < grow_snr <= seed_snr, got {self.grow_snr} and {self.seed_snr}"
            )
        if not 0 <= self.min_area_beams < self.max_area_beams:
            raise ValueError(
                "islands need 0 <= min_area_beams < max_area_beams, got "
                f"{self.min_area_beams} and {self.max_area_beams}"
            )
        if isinstance(self.cutout_pixels, bool) or not (
            isinstance(self.cutout_pixels, int) and self.cutout_pixels >= 8
        ):
            raise ValueError(f"cutout_pixels must be an integer >= 8, not {self.cutout_pixels!r}")
        if self.region_threshold is not None and not 0 < self.region_threshold < 1:
            raise ValueError(
                f"region_threshold must be None or in (0, 1), not {self.region_threshold!r}"
            )
        if not 0 < self.region_cover <= 1:
            raise ValueError(f"region_cover must be in (0, 1], not {self.region_cover!r}")

    def channels(self, input_channels):
        """Channels of each cutout, for a network input of ``input_channels``: those,
        the probability and the island's mask."""
        return input_channels + 2
