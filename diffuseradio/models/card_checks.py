"""Validation of model cards: every field checked, with a message naming the key.

:func:`check_card` runs when a :class:`~diffuseradio.models.ModelCard` is
made (and so when one is read): a card that passes builds its network and
feeds it correctly; one that does not raises
:class:`~diffuseradio.ModelError` naming the model, the key and the problem.
"""

import inspect
import math
import re
from dataclasses import fields
from pathlib import Path

import astropy.units as u
from packaging.version import InvalidVersion, Version
from radio_beam import Beam

from ..exceptions import ModelError
from ..preprocess.normalization import NORMALIZATIONS
from .architectures import ARCHITECTURES, build_island_classifier
from .island_settings import CLASSIFIER_KEYS, IslandSettings

__all__ = ["check_card"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_URL_SCHEMES = ("http://", "https://", "file://")


def check_card(card):
    """Check every field of a model card; normalise its ``islands`` section.

    Parameters
    ----------
    card : `~diffuseradio.models.ModelCard`

    Raises
    ------
    diffuseradio.ModelError
        Naming the first key that is wrong and why.
    """
    _check_type(card.name, "name", card.name, str, "a string")
    if not _NAME.fullmatch(card.name):
        _fail(card.name, "name", "use only letters, digits, '.', '_' and '-'")
    _check_version(card)
    _check_architecture(card)
    _check_resolution(card)
    _check_io(card)
    _check_tiling(card)
    _check_normalization(card)
    _check_islands(card)
    _check_metadata(card)


def _fail(card, key, problem):
    raise ModelError(f"model card {card!r}: {key}: {problem}")


def _check_type(card, key, value, kind, description):
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(card, key, f"expected {description}, got {value!r}")


def _check_number(card, key, value):
    _check_type(card, key, value, (int, float), "a number")
    if not math.isfinite(value):
        _fail(card, key, f"expected a finite number, got {value!r}")


def _angle(card, key, value):
    try:
        return u.Quantity(value).to(u.arcsec)
    except (TypeError, ValueError, u.UnitsError):
        _fail(card, key, f"expected an angle Quantity (e.g. 5 * u.arcsec), got {value!r}")


def _check_islands(card):
    if card.islands is None:
        return
    _check_type(card.name, "islands", card.islands, dict, "a dict")
    if len(card.classes) != 2:
        _fail(card.name, "islands", "the second stage needs a model with one diffuse class")
    card.islands = {"args": {}, **card.islands}
    if card.islands.get("context_scale") == 1:
        # Cards written before 0.1 record the island cutouts' context view
        # (since removed) at its no-op value 1: read them as they were.
        del card.islands["context_scale"]
    known = {item.name for item in fields(IslandSettings)} | set(CLASSIFIER_KEYS)
    unknown = sorted(set(card.islands) - known)
    if unknown:
        _fail(card.name, "islands", f"unknown keys {unknown}; known: {sorted(known)}")
    try:
        build_island_classifier(card)  # the settings, then the classifier
    except (TypeError, ValueError) as err:
        _fail(card.name, "islands", str(err))


def _check_version(card):
    _check_type(card.name, "version", card.version, str, "a string")
    try:
        Version(card.version)
    except InvalidVersion:
        _fail(card.name, "version", f"{card.version!r} is not a PEP 440 version")


def _check_architecture(card):
    if card.architecture not in ARCHITECTURES:
        known = ", ".join(ARCHITECTURES)
        _fail(card.name, "architecture", f"unknown {card.architecture!r}; known: {known}")
    _check_type(card.name, "architecture_args", card.architecture_args, dict, "a dict")
    card.architecture_args = dict(card.architecture_args)
    try:
        inspect.signature(ARCHITECTURES[card.architecture]).bind(**card.architecture_args)
    except TypeError as err:
        _fail(card.name, "architecture_args", f"not accepted by {card.architecture}: {err}")


def _check_io(card):
    _check_type(card.name, "input_channels", card.input_channels, list, "a list")
    if not card.input_channels:
        _fail(card.name, "input_channels", "at least one channel is needed")
    for channel in card.input_channels:
        if not isinstance(channel, dict) or not isinstance(channel.get("name"), str):
            _fail(card.name, "input_channels", f"each must be a dict with a 'name': {channel!r}")
    names = [channel["name"] for channel in card.input_channels]
    if names not in (["tapered"], ["tapered", "native"]):
        _fail(
            card.name,
            "input_channels",
            f"expected the channels ['tapered'] or ['tapered', 'native'], got {names}",
        )
    if len(names) == 2:
        _check_native_channel(card, card.input_channels[1])
    in_channels = card.architecture_args.get(
        "in_channels",
        inspect.signature(ARCHITECTURES[card.architecture]).parameters["in_channels"].default,
    )
    if in_channels != len(card.input_channels):
        _fail(
            card.name,
            "input_channels",
            f"{len(card.input_channels)} described but the network takes {in_channels}",
        )
    _check_type(card.name, "classes", card.classes, list, "a list")
    if len(card.classes) < 2 or len(set(card.classes)) != len(card.classes):
        _fail(card.name, "classes", f"need at least two distinct names, got {card.classes!r}")
    if not all(isinstance(name, str) and name for name in card.classes):
        _fail(card.name, "classes", f"names must be non-empty strings: {card.classes!r}")
    if card.num_outputs not in (len(card.classes), 1 if len(card.classes) == 2 else None):
        _fail(
            card.name,
            "classes",
            f"{len(card.classes)} classes do not match num_classes={card.num_outputs} "
            "(use 1 output for 2 classes, else one per class)",
        )


def _check_native_channel(card, channel):
    key = "input_channels.native.beam_arcsec"
    _check_number(card.name, key, channel.get("beam_arcsec"))
    if not 0 < channel["beam_arcsec"] < card.beam.major.to_value(u.arcsec):
        _fail(
            card.name,
            key,
            f"must be positive and finer than the working beam, got {channel['beam_arcsec']}",
        )


def _check_resolution(card):
    if not isinstance(card.beam, Beam):
        _fail(card.name, "beam", f"expected a radio_beam.Beam, got {card.beam!r}")
    if not 0 < card.beam.minor <= card.beam.major:
        _fail(card.name, "beam", f"need 0 < minor <= major, got {card.beam!r}")
    card.pixel_scale = _angle(card.name, "pixel_scale", card.pixel_scale)
    if not (card.pixel_scale.isscalar and card.pixel_scale > 0):
        _fail(card.name, "pixel_scale", f"expected a positive scalar, got {card.pixel_scale}")
    beams = _angle(card.name, "accepted_beam_range", card.accepted_beam_range)
    if beams.shape != (2,) or not 0 < beams[0] <= beams[1]:
        _fail(
            card.name,
            "accepted_beam_range",
            f"expected (min, max) with 0 < min <= max, got {beams}",
        )
    card.accepted_beam_range = beams


def _check_tiling(card):
    _check_type(card.name, "tile_size", card.tile_size, int, "an integer")
    _check_type(card.name, "tile_overlap", card.tile_overlap, int, "an integer")
    if card.tile_size < 1:
        _fail(card.name, "tile_size", f"must be positive, got {card.tile_size}")
    if not 0 <= card.tile_overlap < card.tile_size:
        _fail(card.name, "tile_overlap", f"must be in [0, tile_size), got {card.tile_overlap}")


def _check_normalization(card):
    _check_type(card.name, "normalization", card.normalization, dict, "a dict")
    unknown = set(card.normalization) - {"name", "parameters", "rms_box_beams"}
    if unknown:
        _fail(card.name, "normalization", f"unknown keys {sorted(unknown)}")
    name = card.normalization.get("name")
    if name not in NORMALIZATIONS:
        known = ", ".join(sorted(NORMALIZATIONS))
        _fail(card.name, "normalization", f"unknown name {name!r}; known: {known}")
    parameters = card.normalization.get("parameters", {})
    _check_type(card.name, "normalization.parameters", parameters, dict, "a dict")
    try:
        inspect.signature(NORMALIZATIONS[name]).bind(None, None, **parameters)
    except TypeError as err:
        _fail(card.name, "normalization.parameters", f"not accepted by {name!r}: {err}")
    box = card.normalization.get("rms_box_beams", 30.0)
    _check_number(card.name, "normalization.rms_box_beams", box)
    if not box > 0:
        _fail(card.name, "normalization.rms_box_beams", f"must be positive, got {box}")
    card.normalization = {"name": name, "parameters": dict(parameters), "rms_box_beams": box}


def _check_metadata(card):
    _check_number(card.name, "threshold", card.threshold)
    if not 0 < card.threshold < 1:
        _fail(card.name, "threshold", f"must be in (0, 1), got {card.threshold}")
    if card.low_threshold is None:
        card.low_threshold = card.threshold
    _check_number(card.name, "low_threshold", card.low_threshold)
    if not 0 < card.low_threshold <= card.threshold:
        _fail(
            card.name,
            "low_threshold",
            f"must be in (0, threshold={card.threshold}], got {card.low_threshold}",
        )
    _check_number(card.name, "min_area_beams", card.min_area_beams)
    if not card.min_area_beams >= 0:
        _fail(card.name, "min_area_beams", f"must be >= 0, got {card.min_area_beams}")
    _check_type(card.name, "weights_file", card.weights_file, str, "a string")
    if Path(card.weights_file).name != card.weights_file:
        _fail(card.name, "weights_file", f"must be a bare file name, got {card.weights_file!r}")
    if Path(card.weights_file).suffix != ".safetensors":
        _fail(
            card.name,
            "weights_file",
            f"{card.weights_file!r} is not a .safetensors file; pickled weights "
            "(.pt, .pth, .ckpt, .pkl, .bin) are refused",
        )
    for key in ("training", "metrics"):
        _check_type(card.name, key, getattr(card, key), dict, "a dict")
    for key in ("license", "citation", "description"):
        _check_type(card.name, key, getattr(card, key), str, "a string")
    if card.url is not None and not (
        isinstance(card.url, str) and card.url.startswith(_URL_SCHEMES)
    ):
        _fail(card.name, "url", f"expected an http(s):// or file:// URL, got {card.url!r}")
    if card.sha256 is not None:
        if not isinstance(card.sha256, str) or not _SHA256.fullmatch(card.sha256.lower()):
            _fail(card.name, "sha256", f"expected 64 hex digits, got {card.sha256!r}")
        card.sha256 = card.sha256.lower()
