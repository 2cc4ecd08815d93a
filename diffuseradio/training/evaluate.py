"""Evaluating models on simulated fields they never saw: the figures of a model card.

Fields are simulated at the models' working beam and pixel scale with the
noise range and the validation population of the first model's training
configuration, with seeds that neither training nor validation used (the
*held-out* fields), and each goes through
:meth:`DiffuseDetector.predict <diffuseradio.DiffuseDetector.predict>`, the
whole inference path. The detections at an operating point are counted
against the truth with :func:`~diffuseradio.training.object_counts`.
Several models are evaluated on the same fields, side by side (they must
share the working grid).

These are figures on the package's own simulator: an upper bound of what a
model does on the sky, not a result about it.
"""

import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy.table import QTable
from tqdm.auto import tqdm

from ..postprocess import segment
from .config import TrainingConfig
from .datasets import simulated_field
from .metrics import OPERATING_THRESHOLDS, ObjectCounts, object_counts, operating_point

__all__ = ["ModelEvaluation", "held_out_fields", "sweep_points", "evaluate_models"]

#: Minimum areas (working beams) a sweep counts at.
SWEEP_MIN_AREAS = (4.0, 8.0, 16.0)


@dataclass
class ModelEvaluation:
    """One model's counts on the held-out fields, at one or more operating points.

    Attributes
    ----------
    card : `~diffuseradio.models.ModelCard`
    seeds : list of int
        Seeds of the fields.
    fields : list of int
        Fields of each seed.
    augment : bool
        Whether test-time augmentation was on.
    counts : dict
        ``{(threshold, low_threshold, min_area_beams): ObjectCounts}``.
    """

    card: object
    seeds: list
    fields: list
    augment: bool
    counts: dict = field(default_factory=dict)

    @property
    def card_point(self):
        """The card's operating point ``(threshold, low_threshold, min_area_beams)``."""
        card = self.card
        return (card.threshold, card.low_threshold, card.min_area_beams)

    def summary(self):
        """The figures at the card's operating point, with the counts' 68 % intervals.

        Returns
        -------
        dict
            :meth:`ObjectCounts.summary` (NaN, where there is nothing to
            count, as None), ``*_interval`` pairs, the seeds, fields and
            operating point; JSON-ready.
        """
        counts = self.counts[self.card_point]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty bins
            summary = counts.summary()
        summary = {k: None if _is_nan(v) else v for k, v in summary.items()}
        summary.update({f"{k}_interval": list(v) for k, v in counts.intervals().items()})
        threshold, low, area = self.card_point
        summary.update(
            model=self.card.identifier,
            seeds=list(self.seeds),
            fields=list(self.fields),
            augment=self.augment,
            threshold=float(threshold),
            low_threshold=float(low),
            min_area_beams=float(area),
        )
        return summary

    def sweep_table(self):
        """One row per operating point counted: completeness, purity, radio galaxies taken.

        Returns
        -------
        `~astropy.table.QTable`
        """
        rows = []
        for (threshold, low, area), counts in sorted(self.counts.items()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                summary = counts.summary()
            rows.append(
                {
                    "threshold": threshold,
                    "low_threshold": low,
                    "min_area_beams": area,
                    **{key: summary[key] for key in _HEADLINE},
                }
            )
        return QTable(rows=rows)

    def operating_point(self, max_radio_galaxy_rate=0.1, min_purity=None):
        """The best of the points counted, by :func:`~diffuseradio.training.operating_point`.

        Returns
        -------
        point : tuple or None
        summary : dict or None
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return operating_point(self.counts, max_radio_galaxy_rate, min_purity=min_purity)


#: The figures of a sweep table.
_HEADLINE = (
    "completeness_snr_ge_8",
    "completeness_snr_ge_5",
    "completeness_local_snr_ge_8",
    "purity",
    "radio_galaxy_false_positive_rate",
    "n_diffuse_objects",
    "n_detections",
)


def _is_nan(value):
    return isinstance(value, float) and math.isnan(value)


def held_out_fields(cards, seeds, counts):
    """Simulated fields at the cards' working grid, for evaluation.

    The sky of the first card's training configuration (its validation
    population and noise range), the beam fixed at the working beam; with the
    native image of the first card that has a native channel, so that every
    model sees the same fields.

    Parameters
    ----------
    cards : list of `~diffuseradio.models.ModelCard`
        Cards with their training configuration (``training["config"]``).
    seeds : list of int
        Seeds of the fields: not the training or validation seeds.
    counts : list of int
        Fields of each seed.

    Yields
    ------
    seed, index : int
    field : `~diffuseradio.simulate.SimulatedField`

    Raises
    ------
    ValueError
        If a card has no training configuration.
    """
    for card in cards:
        if "config" not in card.training:
            raise ValueError(
                f"{card.identifier} has no training configuration in its card: the fields "
                "are simulated with it"
            )
    values = json.loads(json.dumps(cards[0].training["config"]))
    beam = cards[0].beam.major.to_value("arcsec")
    values["data"]["beam_jitter_arcsec"] = [beam, beam]
    native = next((c for c in cards if c.native_beam is not None), None)
    if native is not None:
        config = native.training["config"]
        values["grid"]["native_beam_arcsec"] = config["grid"]["native_beam_arcsec"]
        for key in ("native_rms_ujy", "native_oversample"):
            values["data"][key] = config["data"][key]
    config = TrainingConfig.from_dict(values)
    for seed, count in zip(seeds, counts, strict=True):
        for index in range(count):
            sky, _ = simulated_field(config, seed, index, validation=True)
            yield seed, index, sky


def sweep_points(card, sweep=False):
    """The operating points to count: the card's, or a grid around every threshold.

    Parameters
    ----------
    card : `~diffuseradio.models.ModelCard`
    sweep : bool, optional
        Every threshold of :data:`~diffuseradio.training.OPERATING_THRESHOLDS`,
        with low thresholds from 0.1 up to it in steps of 0.2 and the minimum
        areas of ``SWEEP_MIN_AREAS``.

    Returns
    -------
    list of tuple
        ``(threshold, low_threshold, min_area_beams)``.
    """
    if not sweep:
        return [(card.threshold, card.low_threshold, card.min_area_beams)]
    return [
        (threshold, low, area)
        for threshold in OPERATING_THRESHOLDS
        for low in sorted({threshold, *np.round(np.arange(0.1, threshold, 0.2), 2)}, reverse=True)
        for area in SWEEP_MIN_AREAS
    ]


def evaluate_models(
    detectors, *, seeds=(777,), fields=48, augment=False, sweep=False, progress=True
):
    """Count what each detector finds on the same held-out simulated fields.

    Parameters
    ----------
    detectors : list of `~diffuseradio.DiffuseDetector`
        Models on one working grid, whose cards hold their training
        configuration.
    seeds : sequence of int, optional
        Seeds of the fields; several pool their fields into one count (48
        fields hold about 190 diffuse sources of S/N >= 8: a binomial spread
        of about 0.025 in completeness).
    fields : int or sequence of int, optional
        Fields per seed: one number for all, or one per seed.
    augment : bool, optional
        Test-time augmentation (off, as ``detect`` by default).
    sweep : bool, optional
        Count a grid of operating points (:func:`sweep_points`), to choose a
        card's point on the *validation* seed.
    progress : bool, optional

    Returns
    -------
    list of ModelEvaluation

    Raises
    ------
    ValueError
        If the models work on different grids, a card has no training
        configuration, or ``fields`` does not match ``seeds``.
    """
    seeds = [int(seed) for seed in seeds]
    fields = [int(fields)] * len(seeds) if np.ndim(fields) == 0 else [int(n) for n in fields]
    if len(fields) != len(seeds) or min(fields) < 1:
        raise ValueError("fields takes one positive number, or one per seed")
    cards = [detector.card for detector in detectors]
    for card in cards[1:]:
        if card.beam != cards[0].beam or card.pixel_scale != cards[0].pixel_scale:
            raise ValueError(
                f"{card.identifier} works on another grid than {cards[0].identifier}; "
                "evaluate them separately"
            )
    evaluations = [ModelEvaluation(card, seeds, fields, augment) for card in cards]
    points = [sweep_points(card, sweep) for card in cards]
    for evaluation, card_points in zip(evaluations, points):
        evaluation.counts = {point: ObjectCounts() for point in card_points}
    simulated = held_out_fields(cards, seeds, fields)
    for _, _, sky in tqdm(simulated, total=sum(fields), unit="field", disable=not progress):
        beam_pixels = sky.mosaic.beam_area_pixels
        for detector, evaluation, card_points in zip(detectors, evaluations, points):
            native = None if detector.card.native_beam is None else sky.native
            probability = detector.predict(sky.mosaic, native=native, augment=augment)
            for threshold, low, area in card_points:
                labels = segment(
                    probability, threshold, min_area=area * beam_pixels, low_threshold=low
                )
                evaluation.counts[threshold, low, area] += object_counts(labels, sky)
    return evaluations
