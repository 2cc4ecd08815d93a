"""Simulator shifts: the model's training sky with one knob where training never went."""

import warnings

import astropy.units as u
import numpy as np
from radio_beam import Beam

from ...exceptions import IncompatibleResolutionError
from ...mosaic import SurveyMosaic
from ...mosaic.regrid import pixel_average
from ...preprocess.working_grid import working_grid
from ...simulate import SkySimulator
from ..config import TrainingConfig
from ..metrics import ObjectCounts, object_counts
from .cells import KINDS, SIZE_LABELS, area_deg2, card_labels, cell, cell_seed

__all__ = ["SHIFTS", "simulated_cell", "trained_on"]


#: Each simulator shift: changes to the training sky (SkySimulator keywords and
#: population settings; ``beam``, ``native`` are handled apart).
SHIFTS = {
    "simulator: training sky (upper bound)": {},
    "elliptical beam (axis ratio 1.6)": {"beam": Beam(20 * u.arcsec, 12.5 * u.arcsec, 30 * u.deg)},
    "45-arcsec beam (as NVSS)": {"beam": Beam(45 * u.arcsec)},
    "6-arcsec image at 1.5-arcsec pixels (same noise at 20 arcsec)": {"native": 6.0},
    "radio galaxies twice as dense": {"radio_galaxy_density": 30.0 / u.deg**2},
    "strong noise gradients": {"rms_variation": 0.5},
    "relics thinner than the working beam": {"relic_width": (10.0, 30.0) * u.kpc},
    "bright sources with artefacts everywhere": {"artefact_snr": 150.0},
}


def simulated_cell(detector, name, changes, scale, augment):
    card = detector.card
    config = TrainingConfig.from_dict(card.training["config"])
    changes = dict(changes)
    beam = changes.pop("beam", card.beam)
    native = changes.pop("native", None)
    rms = np.sqrt(np.prod(config.data.rms_ujy)) * u.uJy / u.beam
    settings = {**config.data.validation_settings, **changes}
    alone = native is not None
    if alone:
        # Native noise such that the native image convolved to the working beam
        # has the field's noise: the same sky and S/N, only the input made from
        # a 6" image (a 6" image of a real survey is noisier than that).
        ratio = float(native * u.arcsec / card.beam.major)
        settings.update(native_beam=native * u.arcsec, native_oversample=4, native_rms=rms * ratio)
    elif card.native_beam is not None:  # a two-channel model's 6" image, as it trained
        native_rms = np.sqrt(np.prod(config.data.native_rms_ujy)) * u.uJy / u.beam
        settings.update(
            native_beam=card.native_beam,
            native_oversample=config.data.native_oversample,
            native_rms=native_rms,
        )
    try:
        working_grid(
            beam,
            card.pixel_scale,
            working_beam=card.beam,
            working_pixel_scale=card.pixel_scale,
            accepted_range=card.accepted_beam_range,
        )
    except IncompatibleResolutionError as err:
        return cell(name, "simulator shift", note=f"refused: {err}")
    simulator = SkySimulator(
        scale.field_size, card.pixel_scale, beam, rms, seed=cell_seed(name), **settings
    )
    counts = ObjectCounts()
    for index in range(scale.fields):
        field = simulator.field(index)
        if not alone:  # the 20" image (and the 6" one for a two-channel model)
            two = card.native_beam is not None
            probability = detector.predict(
                field.mosaic, native=field.native if two else None, augment=augment
            )
        else:  # as a user with the 6" mosaic only: the detector makes its 20" input
            on_native = detector.predict(field.native, augment=augment)
            native_map = SurveyMosaic(on_native, field.native.wcs, beam=field.native.beam)
            probability = pixel_average(native_map, field.mosaic).data
        counts += object_counts(card_labels(detector.card, probability, field.mosaic), field)
    summary = _summary(counts)
    area = scale.fields * area_deg2(field.mosaic)
    true, detections = counts.headline_counts()["purity"]
    inside = trained_on(config, changes)
    note = f"{scale.fields} fields of {scale.field_size}^2 at the working grid"
    if inside:
        note += f"; inside the model's training ranges ({', '.join(inside)}): not held out"
    return cell(
        name,
        "simulator shift",
        sources=summary["n_diffuse_objects_snr_ge_8"],
        completeness=summary["completeness_snr_ge_8"],
        purity=summary["purity"],
        radio_galaxies_taken=summary["radio_galaxy_false_positive_rate"],
        false_per_deg2=(detections - true) / area,
        detections=detections,
        note=note,
        **_breakdown(counts),
    )


def _breakdown(counts):
    """``by_kind`` and ``by_size`` of a cell: found and counted at integrated S/N >= 8."""
    by_kind = {kind: counts.found_of(8.0, kind=kind) for kind in KINDS}
    by_size = {label: counts.found_of(8.0, size_bin=i) for i, label in enumerate(SIZE_LABELS)}
    return {
        "by_kind": {k: v for k, v in by_kind.items() if v[1]},
        "by_size": {k: v for k, v in by_size.items() if v[1]},
    }


def trained_on(config, changes):
    """The settings of a shift that the model's training already reached.

    A shift is held out when its value lies beyond what the training
    configuration drew (``[data] rms_variation``, ``population`` and
    ``population_jitter``); those it does not lie beyond are returned.

    Parameters
    ----------
    config : TrainingConfig
        The model's training configuration (from its card).
    changes : dict
        The shift's simulator settings.

    Returns
    -------
    list of str
    """
    data = config.data
    reached = []
    for key, value in changes.items():
        if key == "rms_variation":
            inside = value <= max(data.rms_variation)
        elif key in data.population_jitter:
            low, high = data.population_jitter[key]
            inside = low <= u.Quantity(value).value <= high
        elif key in data.population:
            trained = u.Quantity(data.population[key]).value
            shifted = u.Quantity(value).value
            inside = np.min(trained) <= np.min(shifted) and np.max(shifted) <= np.max(trained)
        else:
            inside = False
        if inside:
            reached.append(key)
    return reached


def _summary(counts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = counts.summary()
    summary["n_diffuse_objects_snr_ge_8"] = counts.headline_counts()["completeness_snr_ge_8"][1]
    return summary
