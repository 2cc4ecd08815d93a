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
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import astropy.units as u
import torch
from radio_beam import Beam

from ..atomic import publish, temporary_sibling
from ..exceptions import ModelError
from .architectures import ARCHITECTURES
from .card_checks import check_card
from .island_settings import CLASSIFIER_KEYS, IslandSettings

__all__ = ["ModelCard", "IslandSettings"]


#: JSON keys of the fields whose JSON key differs from their Python name.
_JSON_KEYS = {"pixel_scale": "pixel_scale_arcsec", "accepted_beam_range": "accepted_beam_arcsec"}


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
        ``diffuseradio.preprocess.normalization.NORMALIZATIONS`` and its keyword parameters.
    threshold : float
        Recommended probability threshold, in (0, 1): it seeds detections.
    low_threshold : float, optional
        Recommended hysteresis threshold, in (0, ``threshold``]: detections
        grow over connected pixels down to this probability (default:
        ``threshold``, no growth).
    min_area_beams : float, optional
        Recommended smallest detection, in working beams (default 4).
    islands : dict, optional
        The second stage (``diffuseradio.postprocess.islands``), for a model with one
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
        check_card(self)

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
        return IslandSettings(**{k: v for k, v in self.islands.items() if k not in CLASSIFIER_KEYS})

    @property
    def island_channels(self):
        """Channels of the island classifier's cutouts: input channels, probability, mask."""
        return self.island_settings.channels(len(self.input_channels))

    @property
    def native_beam(self):
        """Beam of the native-resolution input channel (`radio_beam.Beam`), or None.

        A model with a ``"native"`` channel sees, next to its working-beam
        (``"tapered"``) image, the image at this finer beam averaged over
        each working pixel (see ``diffuseradio.preprocess.model_input``).
        """
        if len(self.input_channels) < 2:
            return None
        return Beam(self.input_channels[1]["beam_arcsec"] * u.arcsec)

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
