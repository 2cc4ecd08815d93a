"""Model cards: everything needed to rebuild a network and feed it correctly.

A model is a safetensors weights file plus a JSON model card. The card names
the architecture and its arguments, the input channels and output classes,
the resolution the network works at (beam and pixel scale) and the input
beams it accepts, the tiling and the normalisation of its input, the
recommended threshold, how it was trained and how well it does, its licence
and citation, and the sha256 of its weights. In Python the angles are
`~astropy.units.Quantity` objects and the beam a `radio_beam.Beam`; in JSON
they are plain numbers whose unit is part of the key.
"""

import inspect
import json
import math
import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import astropy.units as u
import torch
from packaging.version import InvalidVersion, Version
from radio_beam import Beam

from ..atomic import publish, temporary_sibling
from ..exceptions import ModelError
from ..preprocess.normalization import NORMALIZATIONS
from .architectures import ARCHITECTURES, build_island_classifier

__all__ = ["ModelCard", "IslandSettings"]


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: Keys of a card's ``islands`` that describe the classifier, not the islands.
_CLASSIFIER_KEYS = ("args",)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_URL_SCHEMES = ("http://", "https://", "file://")
#: JSON keys of the fields whose JSON key differs from their Python name.
_JSON_KEYS = {"pixel_scale": "pixel_scale_arcsec", "accepted_beam_range": "accepted_beam_arcsec"}


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
        islands (see :func:`paint_islands`).
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


@dataclass(eq=False)
class ModelCard:
    """Description of a trained network (see :doc:`/models` for the JSON keys).

    Parameters
    ----------
    name : str
        Registry name: letters, digits, ``.``, ``_`` and ``-``.
    version : str
        Version (PEP 440, e.g. ``"1.0.0"``).
    architecture : str
        A key of :data:`ARCHITECTURES` (``"unet"`` or ``"transunet"``).
    architecture_args : dict
        Keyword arguments of the network class.
    input_channels : list of dict
        One entry per input channel, each with at least a ``"name"``
        (e.g. ``{"name": "tapered", "beam_arcsec": 20}``).
    classes : list of str
        Class names, background first. With one output channel
        (``num_classes=1``) there are two classes and the network's sigmoid
        is the probability of the second; otherwise one softmax channel per
        class.
    beam : radio_beam.Beam
        Working beam: inputs are convolved to it.
    pixel_scale : `~astropy.units.Quantity`
        Working pixel size (angle).
    accepted_beam_range : `~astropy.units.Quantity`
        Smallest and largest input beam (major axis) the model accepts.
    tile_size : int
        Side of the square tiles the network is run on, in pixels.
    tile_overlap : int
        Overlap of neighbouring tiles, in pixels.
    normalization : dict
        ``{"name": ..., "parameters": {...}}``, a normalisation registered in
        `diffuseradio.preprocess.normalization.NORMALIZATIONS` and its keyword parameters.
    threshold : float
        Recommended probability threshold, in (0, 1): it seeds detections.
    low_threshold : float, optional
        Recommended hysteresis threshold, in (0, ``threshold``]: detections
        grow over connected pixels down to this probability (default:
        ``threshold``, no growth).
    min_area_beams : float, optional
        Recommended smallest detection, in working beams (default 4).
    islands : dict, optional
        The second stage (:mod:`diffuseradio.postprocess.islands`), for a model with one
        diffuse class: the fields of
        :class:`~diffuseradio.models.IslandSettings` and ``"args"``, the
        keyword arguments of the
        :class:`~diffuseradio.models.IslandClassifier` (besides its input
        channels and cutout size). The weights are in the same file, under
        ``island_classifier.``. None (default): no second stage.
    weights_file : str
        File name of the ``.safetensors`` weights, relative to the card.
    training : dict, optional
        How the model was trained (``data``, ``command``, ``seed``, ...).
    metrics : dict, optional
        Validation metrics.
    license : str, optional
        Licence of the weights.
    citation : str, optional
        How to cite the model.
    description : str, optional
        One line shown by :func:`~diffuseradio.models.available_models`.
    url : str, optional
        Where to download the weights (``http(s)://`` or ``file://``).
    sha256 : str, optional
        Hex sha256 of the weights file; filled in by
        :func:`~diffuseradio.models.save_model` and required to load.

    Raises
    ------
    ModelError
        When a field is missing or invalid; the message names the field.
    """

    name: str
    version: str
    architecture: str
    architecture_args: dict
    input_channels: list
    classes: list
    beam: Beam
    pixel_scale: u.Quantity
    accepted_beam_range: u.Quantity
    tile_size: int
    tile_overlap: int
    normalization: dict
    threshold: float
    weights_file: str
    low_threshold: float | None = None
    min_area_beams: float = 4.0
    islands: dict | None = None
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    license: str = ""
    citation: str = ""
    description: str = ""
    url: str | None = None
    sha256: str | None = None

    def __post_init__(self):
        _check_type(self.name, "name", self.name, str, "a string")
        if not _NAME.fullmatch(self.name):
            _fail(self.name, "name", "use only letters, digits, '.', '_' and '-'")
        self._check_version()
        self._check_architecture()
        self._check_resolution()
        self._check_io()
        self._check_tiling()
        self._check_normalization()
        self._check_islands()
        self._check_metadata()

    @property
    def identifier(self):
        """``"name@version"``, the unique key of the model in a registry."""
        return f"{self.name}@{self.version}"

    @property
    def num_outputs(self):
        """Number of network output channels (the architecture's ``num_classes``)."""
        return self.architecture_args.get(
            "num_classes", _default_arg(self.architecture, "num_classes")
        )

    def probabilities(self, logits):
        """Turn network logits (N, K, H, W) into class probabilities.

        Parameters
        ----------
        logits : torch.Tensor
            Output of the network.

        Returns
        -------
        torch.Tensor
            float32 probabilities of the same shape: the sigmoid when K = 1
            (probability of ``classes[1]``), the softmax over K otherwise.
        """
        logits = logits.float()
        if logits.shape[1] == 1:
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=1)

    @property
    def island_settings(self):
        """The :class:`~diffuseradio.models.IslandSettings` of the second stage, or None."""
        if self.islands is None:
            return None
        return IslandSettings(
            **{k: v for k, v in self.islands.items() if k not in _CLASSIFIER_KEYS}
        )

    @property
    def island_channels(self):
        """Channels of the island classifier's cutouts: input channels, probability, mask."""
        return self.island_settings.channels(len(self.input_channels))

    def _check_islands(self):
        if self.islands is None:
            return
        _check_type(self.name, "islands", self.islands, dict, "a dict")
        if len(self.classes) != 2:
            _fail(self.name, "islands", "the second stage needs a model with one diffuse class")
        self.islands = {"args": {}, **self.islands}
        if self.islands.get("context_scale") == 1:
            # Cards written before 0.1 record the island cutouts' context view
            # (since removed) at its no-op value 1: read them as they were.
            del self.islands["context_scale"]
        known = {item.name for item in fields(IslandSettings)} | set(_CLASSIFIER_KEYS)
        unknown = sorted(set(self.islands) - known)
        if unknown:
            _fail(self.name, "islands", f"unknown keys {unknown}; known: {sorted(known)}")
        try:
            build_island_classifier(self)  # the settings, then the classifier
        except (TypeError, ValueError) as err:
            _fail(self.name, "islands", str(err))

    def _check_version(self):
        _check_type(self.name, "version", self.version, str, "a string")
        try:
            Version(self.version)
        except InvalidVersion:
            _fail(self.name, "version", f"{self.version!r} is not a PEP 440 version")

    def _check_architecture(self):
        if self.architecture not in ARCHITECTURES:
            known = ", ".join(ARCHITECTURES)
            _fail(self.name, "architecture", f"unknown {self.architecture!r}; known: {known}")
        _check_type(self.name, "architecture_args", self.architecture_args, dict, "a dict")
        self.architecture_args = dict(self.architecture_args)
        try:
            inspect.signature(ARCHITECTURES[self.architecture]).bind(**self.architecture_args)
        except TypeError as err:
            _fail(self.name, "architecture_args", f"not accepted by {self.architecture}: {err}")

    def _check_io(self):
        _check_type(self.name, "input_channels", self.input_channels, list, "a list")
        if not self.input_channels:
            _fail(self.name, "input_channels", "at least one channel is needed")
        for channel in self.input_channels:
            if not isinstance(channel, dict) or not isinstance(channel.get("name"), str):
                _fail(
                    self.name, "input_channels", f"each must be a dict with a 'name': {channel!r}"
                )
        names = [channel["name"] for channel in self.input_channels]
        if names not in (["tapered"], ["tapered", "native"]):
            _fail(
                self.name,
                "input_channels",
                f"expected the channels ['tapered'] or ['tapered', 'native'], got {names}",
            )
        if len(names) == 2:
            self._check_native_channel(self.input_channels[1])
        in_channels = self.architecture_args.get(
            "in_channels", _default_arg(self.architecture, "in_channels")
        )
        if in_channels != len(self.input_channels):
            _fail(
                self.name,
                "input_channels",
                f"{len(self.input_channels)} described but the network takes {in_channels}",
            )
        _check_type(self.name, "classes", self.classes, list, "a list")
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            _fail(self.name, "classes", f"need at least two distinct names, got {self.classes!r}")
        if not all(isinstance(name, str) and name for name in self.classes):
            _fail(self.name, "classes", f"names must be non-empty strings: {self.classes!r}")
        if self.num_outputs not in (len(self.classes), 1 if len(self.classes) == 2 else None):
            _fail(
                self.name,
                "classes",
                f"{len(self.classes)} classes do not match num_classes={self.num_outputs} "
                "(use 1 output for 2 classes, else one per class)",
            )

    def _check_native_channel(self, channel):
        key = "input_channels.native.beam_arcsec"
        _check_number(self.name, key, channel.get("beam_arcsec"))
        if not 0 < channel["beam_arcsec"] < self.beam.major.to_value(u.arcsec):
            _fail(
                self.name,
                key,
                f"must be positive and finer than the working beam, got {channel['beam_arcsec']}",
            )

    @property
    def native_beam(self):
        """Beam of the native-resolution input channel (`radio_beam.Beam`), or None.

        A model with a ``"native"`` channel sees, next to its working-beam
        (``"tapered"``) image, the image at this finer beam averaged over
        each working pixel (see :func:`diffuseradio.preprocess.inputs.model_input`).
        """
        if len(self.input_channels) < 2:
            return None
        return Beam(self.input_channels[1]["beam_arcsec"] * u.arcsec)

    def _check_resolution(self):
        if not isinstance(self.beam, Beam):
            _fail(self.name, "beam", f"expected a radio_beam.Beam, got {self.beam!r}")
        if not 0 < self.beam.minor <= self.beam.major:
            _fail(self.name, "beam", f"need 0 < minor <= major, got {self.beam!r}")
        self.pixel_scale = _angle(self.name, "pixel_scale", self.pixel_scale)
        if not (self.pixel_scale.isscalar and self.pixel_scale > 0):
            _fail(self.name, "pixel_scale", f"expected a positive scalar, got {self.pixel_scale}")
        beams = _angle(self.name, "accepted_beam_range", self.accepted_beam_range)
        if beams.shape != (2,) or not 0 < beams[0] <= beams[1]:
            _fail(
                self.name,
                "accepted_beam_range",
                f"expected (min, max) with 0 < min <= max, got {beams}",
            )
        self.accepted_beam_range = beams

    def _check_tiling(self):
        _check_type(self.name, "tile_size", self.tile_size, int, "an integer")
        _check_type(self.name, "tile_overlap", self.tile_overlap, int, "an integer")
        if self.tile_size < 1:
            _fail(self.name, "tile_size", f"must be positive, got {self.tile_size}")
        if not 0 <= self.tile_overlap < self.tile_size:
            _fail(self.name, "tile_overlap", f"must be in [0, tile_size), got {self.tile_overlap}")

    def _check_normalization(self):
        _check_type(self.name, "normalization", self.normalization, dict, "a dict")
        unknown = set(self.normalization) - {"name", "parameters", "rms_box_beams"}
        if unknown:
            _fail(self.name, "normalization", f"unknown keys {sorted(unknown)}")
        name = self.normalization.get("name")
        if name not in NORMALIZATIONS:
            known = ", ".join(sorted(NORMALIZATIONS))
            _fail(self.name, "normalization", f"unknown name {name!r}; known: {known}")
        parameters = self.normalization.get("parameters", {})
        _check_type(self.name, "normalization.parameters", parameters, dict, "a dict")
        try:
            inspect.signature(NORMALIZATIONS[name]).bind(None, None, **parameters)
        except TypeError as err:
            _fail(self.name, "normalization.parameters", f"not accepted by {name!r}: {err}")
        box = self.normalization.get("rms_box_beams", 30.0)
        _check_number(self.name, "normalization.rms_box_beams", box)
        if not box > 0:
            _fail(self.name, "normalization.rms_box_beams", f"must be positive, got {box}")
        self.normalization = {"name": name, "parameters": dict(parameters), "rms_box_beams": box}

    def _check_metadata(self):
        _check_number(self.name, "threshold", self.threshold)
        if not 0 < self.threshold < 1:
            _fail(self.name, "threshold", f"must be in (0, 1), got {self.threshold}")
        if self.low_threshold is None:
            self.low_threshold = self.threshold
        _check_number(self.name, "low_threshold", self.low_threshold)
        if not 0 < self.low_threshold <= self.threshold:
            _fail(
                self.name,
                "low_threshold",
                f"must be in (0, threshold={self.threshold}], got {self.low_threshold}",
            )
        _check_number(self.name, "min_area_beams", self.min_area_beams)
        if not self.min_area_beams >= 0:
            _fail(self.name, "min_area_beams", f"must be >= 0, got {self.min_area_beams}")
        _check_type(self.name, "weights_file", self.weights_file, str, "a string")
        if Path(self.weights_file).name != self.weights_file:
            _fail(self.name, "weights_file", f"must be a bare file name, got {self.weights_file!r}")
        if Path(self.weights_file).suffix != ".safetensors":
            _fail(
                self.name,
                "weights_file",
                f"{self.weights_file!r} is not a .safetensors file; pickled weights "
                "(.pt, .pth, .ckpt, .pkl, .bin) are refused",
            )
        for key in ("training", "metrics"):
            _check_type(self.name, key, getattr(self, key), dict, "a dict")
        for key in ("license", "citation", "description"):
            _check_type(self.name, key, getattr(self, key), str, "a string")
        if self.url is not None and not (
            isinstance(self.url, str) and self.url.startswith(_URL_SCHEMES)
        ):
            _fail(self.name, "url", f"expected an http(s):// or file:// URL, got {self.url!r}")
        if self.sha256 is not None:
            if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256.lower()):
                _fail(self.name, "sha256", f"expected 64 hex digits, got {self.sha256!r}")
            self.sha256 = self.sha256.lower()

    def __eq__(self, other):
        if not isinstance(other, ModelCard):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def detection_settings(self, threshold=None, low_threshold=None, min_area_beams=None):
        """The operating point of a detection run: given values, else the card's.

        Parameters
        ----------
        threshold : float, optional
            Probability that seeds a detection (default: the card's).
        low_threshold : float, optional
            Probability down to which detections grow (default: the card's
            ``low_threshold``, or ``threshold`` where that is lower).
        min_area_beams : float, optional
            Smallest detection in working beams (default: the card's).

        Returns
        -------
        dict
            ``threshold``, ``low_threshold`` and ``min_area_beams``.

        Raises
        ------
        ValueError
            Unless 0 < ``low_threshold`` <= ``threshold`` < 1 and
            ``min_area_beams`` >= 0.
        """
        threshold = self.threshold if threshold is None else float(threshold)
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if low_threshold is None:
            low_threshold = min(self.low_threshold, threshold)
        low_threshold = float(low_threshold)
        if not 0 < low_threshold <= threshold:
            raise ValueError(
                f"low_threshold must be in (0, threshold={threshold}], got {low_threshold}"
            )
        min_area_beams = self.min_area_beams if min_area_beams is None else float(min_area_beams)
        if not min_area_beams >= 0:
            raise ValueError(f"min_area_beams must be >= 0, got {min_area_beams}")
        return {
            "threshold": threshold,
            "low_threshold": low_threshold,
            "min_area_beams": min_area_beams,
        }

    def to_dict(self):
        """The card as a JSON-ready dict (angles as numbers, unit in the key).

        Returns
        -------
        dict
        """
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "beam":
                value = {
                    "major_arcsec": float(value.major.to_value(u.arcsec)),
                    "minor_arcsec": float(value.minor.to_value(u.arcsec)),
                    "pa_deg": float(value.pa.to_value(u.deg)),
                }
            elif item.name == "pixel_scale":
                value = float(value.to_value(u.arcsec))
            elif item.name == "accepted_beam_range":
                low, high = value.to_value(u.arcsec).tolist()
                value = {"min": low, "max": high}
            out[_JSON_KEYS.get(item.name, item.name)] = value
        return out

    @classmethod
    def from_dict(cls, data, *, source=None):
        """Build and validate a card from its JSON dict.

        Parameters
        ----------
        data : dict
            As produced by :meth:`to_dict` / read from a card file.
        source : str, optional
            Where the dict came from, for error messages.

        Returns
        -------
        ModelCard

        Raises
        ------
        ModelError
            For missing, unknown or invalid keys.
        """
        where = f"model card {source}" if source else "model card"
        prefix = f"{source}: " if source else ""
        if not isinstance(data, dict):
            raise ModelError(f"{where}: expected a JSON object, got {type(data).__name__}")
        keys = {_JSON_KEYS.get(item.name, item.name): item for item in fields(cls)}
        required = [key for key, item in keys.items() if _is_required(item)]
        missing = [key for key in required if key not in data]
        if missing:
            raise ModelError(f"{where}: missing required keys: {', '.join(missing)}")
        unknown = sorted(set(data) - set(keys))
        if unknown:
            raise ModelError(
                f"{where}: unknown keys: {', '.join(unknown)} (known: {', '.join(keys)})"
            )
        kwargs = {keys[key].name: value for key, value in data.items()}
        try:
            kwargs["beam"] = _beam_from_json(data["beam"])
            kwargs["pixel_scale"] = _json_number(data["pixel_scale_arcsec"]) * u.arcsec
            kwargs["accepted_beam_range"] = _range_from_json(data["accepted_beam_arcsec"])
            return cls(**kwargs)
        except ModelError as err:
            raise ModelError(f"{prefix}{err}") from None

    def to_json(self):
        """The card as indented JSON text.

        Returns
        -------
        str

        Raises
        ------
        ModelError
            When ``training`` or ``metrics`` hold values JSON cannot store.
        """
        try:
            return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        except (TypeError, ValueError) as err:
            raise ModelError(f"model card {self.name!r}: not JSON-serialisable: {err}") from None

    @classmethod
    def from_json(cls, text, *, source=None):
        """Parse and validate a card from JSON text.

        Parameters
        ----------
        text : str or bytes
            The JSON document.
        source : str, optional
            Where the text came from, for error messages.

        Returns
        -------
        ModelCard

        Raises
        ------
        ModelError
            When the text is not JSON or not a valid card.
        """
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            where = f"model card {source}" if source else "model card"
            raise ModelError(f"{where}: invalid JSON: {err}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def read(cls, path):
        """Read and validate a card file.

        Parameters
        ----------
        path : str or os.PathLike
            JSON card file.

        Returns
        -------
        ModelCard

        Raises
        ------
        FileNotFoundError
            When the file does not exist.
        ModelError
            When it is not valid JSON or not a valid card.
        """
        path = Path(path)
        return cls.from_json(path.read_bytes(), source=str(path))

    def write(self, path):
        """Write the card as JSON, atomically (temporary file, then rename).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.
        """
        path = Path(path)
        text = self.to_json()
        with temporary_sibling(path) as temporary:
            temporary.write_text(text, encoding="utf-8")
            publish(temporary, path)


def _is_required(item):
    return item.default is MISSING and item.default_factory is MISSING


def _default_arg(architecture, name):
    return inspect.signature(ARCHITECTURES[architecture]).parameters[name].default


def _json_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"expected a number, got {value!r}")
    return float(value)


def _beam_from_json(value):
    if not isinstance(value, dict) or not {"major_arcsec", "minor_arcsec"} <= set(value):
        raise ModelError(
            f"beam: expected {{'major_arcsec', 'minor_arcsec', 'pa_deg'}}, got {value!r}"
        )
    unknown = set(value) - {"major_arcsec", "minor_arcsec", "pa_deg"}
    if unknown:
        raise ModelError(f"beam: unknown keys {sorted(unknown)}")
    try:
        return Beam(
            major=_json_number(value["major_arcsec"]) * u.arcsec,
            minor=_json_number(value["minor_arcsec"]) * u.arcsec,
            pa=_json_number(value.get("pa_deg", 0.0)) * u.deg,
        )
    except ValueError as err:
        raise ModelError(f"beam: {err}") from None


def _range_from_json(value):
    if not isinstance(value, dict) or set(value) != {"min", "max"}:
        raise ModelError(f"accepted_beam_arcsec: expected {{'min', 'max'}}, got {value!r}")
    return [_json_number(value["min"]), _json_number(value["max"])] * u.arcsec
