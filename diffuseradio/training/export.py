"""Export a trained network as a registry model: safetensors + model card."""

import math

import astropy.units as u
from radio_beam import Beam

from ..models import ModelCard, save_model

__all__ = ["model_card", "export_model"]


def model_card(config, *, metrics=None, command=None, data_description=None):
    """The model card of a network trained with ``config``.

    Parameters
    ----------
    config : TrainingConfig
    metrics : dict, optional
        Validation metrics to record.
    command : str, optional
        The training command line.
    data_description : str, optional
        What the network was trained on (default: a description of the
        simulated fields of ``config``).

    Returns
    -------
    diffuseradio.models.ModelCard
    """
    model, grid, data = config.model, config.grid, config.data
    if data_description is None:
        data_description = (
            f"simulated fields (diffuseradio.simulate.SkySimulator) of {data.field_size}^2 "
            f"pixels of {grid.pixel_scale_arcsec} arcsec (scaled with beams coarser than "
            f"{grid.beam_arcsec} arcsec), beam {data.beam_jitter_arcsec} arcsec, "
            f"rms {data.rms_ujy} uJy/beam varying by "
            f"{data.rms_variation}{_native_description(config)}; "
            f"population {data.population or 'default'}"
            f"{f', per field {data.population_jitter}' if data.population_jitter else ''}"
            if not data.fits_pairs
            else f"image/mask pairs: {[str(p[0]) for p in data.fits_pairs]}"
        )
    return ModelCard(
        name=model.name,
        version=model.version,
        architecture=model.architecture,
        architecture_args={
            "in_channels": len(config.input_channels),
            "num_classes": config.num_outputs,
            **model.args,
        },
        input_channels=config.input_channels,
        classes=list(model.classes),
        beam=Beam(grid.beam_arcsec * u.arcsec),
        pixel_scale=grid.pixel_scale_arcsec * u.arcsec,
        accepted_beam_range=grid.accepted_beam_arcsec * u.arcsec,
        tile_size=grid.tile_size,
        tile_overlap=grid.tile_overlap,
        normalization={
            "name": config.normalization.name,
            "parameters": {
                **config.normalization.parameters,
            },
            "rms_box_beams": config.normalization.rms_box_beams,
        },
        threshold=config.training.threshold,
        low_threshold=config.training.low_threshold or None,
        min_area_beams=config.training.min_area_beams,
        weights_file=f"{model.name}-{model.version}.safetensors",
        training={
            "data": data_description,
            "seed": config.training.seed,
            "data_seed": data.seed,
            "validation_seed": data.validation_seed,
            "validation_fields": data.validation_fields,
            "command": command or "",
            "config": config.to_dict(),
        },
        metrics={name: _json_value(value) for name, value in (metrics or {}).items()},
        license=model.license,
        citation=model.citation,
        description=model.description,
    )


def _native_description(config):
    if config.native_beam is None:
        return ""
    data = config.data
    return (
        f", with the same sky at {config.grid.native_beam_arcsec} arcsec on "
        f"{config.grid.pixel_scale_arcsec / data.native_oversample:g} arcsec pixels, rms "
        f"{data.native_rms_ujy} uJy/beam"
    )


def _json_value(value):
    """Metrics as JSON values: numpy scalars to Python, NaN (undefined) to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def export_model(network, config, directory, *, metrics=None, command=None):
    """Write a trained network and its card into a registry folder.

    Parameters
    ----------
    network : torch.nn.Module
    config : TrainingConfig
    directory : str or os.PathLike
    metrics : dict, optional
    command : str, optional

    Returns
    -------
    pathlib.Path
        The card file; load it with ``DiffuseDetector.from_pretrained(path)``.
    """
    card = model_card(config, metrics=metrics, command=command)
    return save_model(network, card, directory)
