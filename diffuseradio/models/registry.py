"""The registry of trained models, and their safe loading and saving.

Models come from three places:

* cards bundled with the package (``diffuseradio/models/data/*.json``);
* user registries: the card files and folders of cards listed in the
  ``DIFFUSERADIO_REGISTRY`` environment variable (separated by
  `os.pathsep`) and those passed to :func:`register_model`;
* remote entries: any card with a ``url``, whose weights are downloaded on
  first use (:mod:`~diffuseradio.models.hub`).

Weights are read only with `safetensors`, never unpickled, and only after
their sha256 matched the card's; a network is returned only when every
tensor matched it.
"""

import dataclasses
import hashlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

import astropy.units as u
import numpy as np
import safetensors.torch
import torch
from astropy.table import QTable
from packaging.version import InvalidVersion, Version
from safetensors import SafetensorError

from ..atomic import publish, temporary_sibling
from ..exceptions import ChecksumError, ModelError, ModelNotFoundError
from .architectures import ARCHITECTURES, build_network
from .card import ModelCard
from .device import select_device, select_precision, to_device
from .hub import download_weights, is_offline, is_url, locate_url, require_sha256

__all__ = [
    "DEFAULT_MODEL",
    "LoadedModel",
    "available_models",
    "load_model",
    "register_model",
    "save_model",
]


logger = logging.getLogger(__name__)


#: Registry name (or ``"name@version"``) of the model loaded when none is
#: named: the bundled U-Net (see the model zoo in the documentation).
DEFAULT_MODEL = "lotss-diffuse-unet"


ENV_REGISTRY = "DIFFUSERADIO_REGISTRY"


_BUNDLED = Path(__file__).parent / "data"


_REGISTERED = {}


_PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin"}


_LISTED = 5


class LoadedModel(NamedTuple):
    """A network ready for inference, with its card, device and precision."""

    #: The network, in evaluation mode, on ``device``, channels-last.
    model: torch.nn.Module
    #: Its model card.
    card: ModelCard
    #: Where it runs.
    device: torch.device
    #: Autocast dtype (``torch.float32`` or ``torch.bfloat16``).
    precision: torch.dtype


@dataclasses.dataclass(frozen=True)
class _Entry:
    card: ModelCard
    directory: Path | None
    origin: str

    @property
    def source(self):
        return "remote" if self.card.url else self.origin


def _card_entries(path, origin):
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
    elif path.is_file():
        if path.suffix.lower() != ".json":
            raise ModelError(f"{path}: a registry entry must be a model card .json file")
        files = [path]
    else:
        raise FileNotFoundError(f"model registry path {path} does not exist")
    return [_Entry(ModelCard.read(file), file.parent, origin) for file in files]


def _entries():
    entries = {}
    sources = [_card_entries(_BUNDLED, "bundled")] if _BUNDLED.is_dir() else []
    for item in os.environ.get(ENV_REGISTRY, "").split(os.pathsep):
        if item.strip():
            try:
                sources.append(_card_entries(item.strip(), "user"))
            except FileNotFoundError as err:
                raise FileNotFoundError(f"{err} (listed in {ENV_REGISTRY})") from None
    sources.append(list(_REGISTERED.values()))
    for entry in (entry for group in sources for entry in group):
        entries[entry.card.identifier] = entry
    return list(entries.values())


def register_model(card_or_path, *, directory=None):
    """Add models to the registry for this session.

    A model registered here shadows a bundled one of the same name and
    version. For a permanent registry list card files or folders in the
    ``DIFFUSERADIO_REGISTRY`` environment variable.

    Parameters
    ----------
    card_or_path : ModelCard or str or os.PathLike
        A card, a card ``.json`` file, or a folder of card files.
    directory : str or os.PathLike, optional
        For a `ModelCard` without ``url``: the folder holding its weights.

    Raises
    ------
    FileNotFoundError
        When the path does not exist.
    ModelError
        For an invalid card file, or a card with neither ``url`` nor
        ``directory``.
    """
    if isinstance(card_or_path, ModelCard):
        if card_or_path.url is None and directory is None:
            raise ModelError(
                f"model {card_or_path.identifier!r} has no url: give the directory "
                "that holds its weights"
            )
        folder = None if directory is None else Path(directory)
        entries = [_Entry(card_or_path, folder, "user")]
    else:
        entries = _card_entries(card_or_path, "user")
    for entry in entries:
        _REGISTERED[entry.card.identifier] = entry


def available_models():
    """The registered models, one row per name and version.

    Returns
    -------
    astropy.table.QTable
        Columns ``name``, ``version``, ``architecture``, ``beam_major``,
        ``beam_minor`` (working beam), ``pixel_scale``, ``min_beam``,
        ``max_beam`` (accepted input beams, all in arcsec), ``threshold``,
        ``worst_cell`` (the lower of completeness and purity in the worst
        cell of the shift benchmark, from the card's
        ``metrics["shift_benchmark"]``; NaN when not measured), ``source``
        (``bundled``, ``user`` or ``remote``: weights downloaded on first
        use), ``default`` (the model loaded when none is named) and
        ``description``. Empty (with these columns) when nothing is
        registered.

    Examples
    --------
    >>> from diffuseradio.models import available_models
    >>> available_models().colnames[:3]
    ['name', 'version', 'architecture']
    """
    entries = sorted(_entries(), key=lambda e: (e.card.name, Version(e.card.version)))
    cards = [entry.card for entry in entries]
    default = _default_identifier(entries)

    def angles(values):
        return u.Quantity(np.array(values, dtype=float), u.arcsec)

    return QTable(
        {
            "name": np.array([card.name for card in cards], dtype=str),
            "version": np.array([card.version for card in cards], dtype=str),
            "architecture": np.array([card.architecture for card in cards], dtype=str),
            "beam_major": angles([card.beam.major.to_value(u.arcsec) for card in cards]),
            "beam_minor": angles([card.beam.minor.to_value(u.arcsec) for card in cards]),
            "pixel_scale": angles([card.pixel_scale.to_value(u.arcsec) for card in cards]),
            "min_beam": angles([card.accepted_beam_range[0].to_value(u.arcsec) for card in cards]),
            "max_beam": angles([card.accepted_beam_range[1].to_value(u.arcsec) for card in cards]),
            "threshold": np.array([card.threshold for card in cards], dtype=float),
            "worst_cell": np.array([_worst_score(card) for card in cards], dtype=float),
            "source": np.array([entry.source for entry in entries], dtype=str),
            "default": np.array([card.identifier == default for card in cards], dtype=bool),
            "description": np.array([card.description for card in cards], dtype=str),
        }
    )


def _worst_score(card):
    """The worst cell's score of the card's shift benchmark, or NaN."""
    benchmark = (card.metrics or {}).get("shift_benchmark") or {}
    score = benchmark.get("worst_score")
    return np.nan if score is None else float(score)


def _default_identifier(entries):
    if DEFAULT_MODEL is None:
        return None
    try:
        return _find(entries, DEFAULT_MODEL, None).card.identifier
    except ModelNotFoundError:
        return None


def _available_text(entries):
    if not entries:
        return f"no models are registered (add one with register_model() or {ENV_REGISTRY})"
    return "available: " + ", ".join(sorted(entry.card.identifier for entry in entries))


def _find(entries, spec, version):
    name, _, pinned = spec.partition("@")
    if pinned and version is not None and pinned != version:
        raise ValueError(f"conflicting versions: {spec!r} and version={version!r}")
    version = pinned or version
    matches = [entry for entry in entries if entry.card.name == name]
    if not matches:
        raise ModelNotFoundError(f"no model named {name!r}; {_available_text(entries)}")
    if version is None:
        return max(matches, key=lambda entry: Version(entry.card.version))
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise ValueError(f"invalid version {version!r} (expected e.g. '1.0.0')") from None
    for entry in matches:
        if Version(entry.card.version) == wanted:
            return entry
    versions = ", ".join(sorted((entry.card.version for entry in matches), key=Version))
    raise ModelNotFoundError(f"model {name!r} has no version {version!r}; versions: {versions}")


def _check_not_pickle(path):
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        raise ModelError(
            f"{path}: pickle-based weights ({path.suffix}) are refused because unpickling can "
            "run arbitrary code; convert them to .safetensors and write a card with save_model"
        )


def _locate(spec, version, offline, progress):
    """Resolve a model request to its card and local weights path."""
    if spec is None:
        if DEFAULT_MODEL is None:
            raise ModelNotFoundError(
                "no default model: diffuseradio bundles no trained model yet; pass a "
                f"registry name, a card path or a URL; {_available_text(_entries())}"
            )
        spec = DEFAULT_MODEL
    spec = os.fspath(spec)
    if is_url(spec):
        if version is not None:
            raise ValueError("version cannot be given with a URL")
        return locate_url(spec, offline, progress)
    path = Path(spec).expanduser()
    _check_not_pickle(path)
    separators = [sep for sep in (os.sep, os.altsep) if sep]
    if (
        path.suffix.lower() in (".json", ".safetensors")
        or any(sep in spec for sep in separators)
        or path.is_file()
    ):
        if version is not None:
            raise ValueError("version cannot be given with a file path")
        return _locate_file(path, offline, progress)
    entry = _find(_entries(), spec, version)
    return entry.card, _weights(entry.card, entry.directory, offline, progress)


def _locate_file(path, offline, progress):
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".json":
        card = ModelCard.read(path)
        return card, _weights(card, path.parent, offline, progress)
    if suffix == ".safetensors":
        card_path = path.with_suffix(".json")
        if not card_path.is_file():
            raise ModelError(f"{path}: no model card next to the weights (expected {card_path})")
        card = ModelCard.read(card_path)
        if card.weights_file != path.name:
            raise ModelError(
                f"{card_path} describes weights {card.weights_file!r}, not {path.name!r}"
            )
        return card, path
    raise ModelError(f"{path}: not a model card (.json) or safetensors weights file")


def _weights(card, directory, offline, progress):
    if card.url is not None:
        return download_weights(card, card.url, offline, progress)
    if directory is None:
        raise ModelError(f"model {card.identifier!r} has neither a url nor a weights folder")
    path = directory / card.weights_file
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} of model {card.identifier!r} is missing")
    return path


def _read_weights(path, card, expected_sha256):
    """Read a safetensors file after checking its sha256; refuse anything else."""
    _check_not_pickle(path)
    require_sha256(card)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    for expected, what in [(card.sha256, "its card"), (expected_sha256, "the requested sha256")]:
        if expected is not None and digest != expected.lower():
            raise ChecksumError(
                f"{path} has sha256 {digest}, but {what} says {expected.lower()}: the weights "
                "were modified or corrupted (delete a cached copy to download it again)"
            )
    try:
        return safetensors.torch.load(data)
    except SafetensorError as err:
        if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
            raise ModelError(
                f"{path} is a pickle (torch.save) file, not safetensors; pickles are refused "
                "because unpickling can run arbitrary code"
            ) from None
        raise ModelError(
            f"{path} is not a valid safetensors file (truncated or corrupt): {err}"
        ) from None


def _listing(label, items):
    shown = ", ".join(items[:_LISTED])
    more = f" ... ({len(items)} in all)" if len(items) > _LISTED else ""
    return f"{label}: {shown}{more}"


def check_state(network, state, what):
    """Raise ModelError unless ``state`` has exactly the network's tensors."""
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{key} (file {tuple(state[key].shape)} {state[key].dtype}, "
        f"network {tuple(expected[key].shape)} {expected[key].dtype})"
        for key in sorted(set(expected) & set(state))
        if state[key].shape != expected[key].shape
        or state[key].is_floating_point() != expected[key].is_floating_point()
    ]
    problems = [
        _listing(label, items)
        for label, items in [
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape or type mismatch", mismatched),
        ]
        if items
    ]
    if problems:
        raise ModelError(f"{what} do not match the network: " + "; ".join(problems))


def load_model(
    spec=None,
    version=None,
    device="auto",
    precision="auto",
    *,
    sha256=None,
    offline=None,
    progress=True,
):
    """Load a trained network and its card, verified, onto a device.

    Parameters
    ----------
    spec : str or os.PathLike, optional
        A registry name, ``"name@version"``, a model card ``.json`` path, a
        ``.safetensors`` path with its card (same stem, ``.json``) next to it,
        or an ``http(s)://`` / ``file://`` URL of a card or of weights with the
        card beside them. None loads the default model.
    version : str, optional
        Version of a registry name (default: the highest registered).
    device : str or torch.device, optional
        See :func:`~diffuseradio.models.select_device`.
    precision : str or torch.dtype, optional
        See :func:`~diffuseradio.models.select_precision`.
    sha256 : str, optional
        Expected sha256 of the weights (e.g. published with a URL); the file
        must have it as well as the one in its card.
    offline : bool, optional
        Forbid downloads; default: the ``DIFFUSERADIO_OFFLINE`` environment
        variable.
    progress : bool, optional
        Show a progress bar while downloading.

    Returns
    -------
    LoadedModel
        ``(model, card, device, precision)``.

    Raises
    ------
    ModelNotFoundError
        Unknown name or version (the message lists the available ones), or no
        default model.
    ChecksumError
        The weights' sha256 differs from the card's (or ``sha256``'s).
    ModelError
        Pickle files, truncated or corrupt weights, invalid cards, and
        weights that do not fit the card's network (keys and shapes named).
    OfflineError
        A download is needed in offline mode.
    ConnectionError
        A download failed.
    FileNotFoundError
        A named file does not exist.
    """
    device = select_device(device)
    precision = select_precision(precision, device)
    card, path = _locate(spec, version, is_offline(offline), progress)
    state = _read_weights(path, card, sha256)
    network = build_network(card)
    check_state(network, state, f"weights {path} of model {card.identifier!r}")
    network.load_state_dict(state)
    logger.info("loaded %s (%s) from %s", card.identifier, card.architecture, path)
    return LoadedModel(to_device(network, device), card, device, precision)


def save_model(model, card, directory):
    """Write a network's weights (safetensors) and its card, with the sha256.

    Both files are written under temporary names and renamed only when
    complete. The card is saved as ``<weights stem>.json`` next to
    ``card.weights_file``.

    Parameters
    ----------
    model : torch.nn.Module
        A network of the card's architecture and arguments.
    card : ModelCard
        Its card; ``sha256`` is filled in (the object itself is not changed).
    directory : str or os.PathLike
        Destination folder (created if needed).

    Returns
    -------
    pathlib.Path
        The card file, loadable with :func:`load_model`.

    Raises
    ------
    ModelError
        When the network does not match the card.
    """
    expected = ARCHITECTURES[card.architecture]
    if type(model) is not expected:
        raise ModelError(
            f"card {card.identifier!r} describes a {expected.__name__}, "
            f"not a {type(model).__name__}"
        )
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    check_state(build_network(card), state, f"the weights of {type(model).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / card.weights_file
    card_path = weights_path.with_suffix(".json")
    metadata = {"name": card.name, "version": card.version, "architecture": card.architecture}
    with temporary_sibling(weights_path) as weights_tmp, temporary_sibling(card_path) as card_tmp:
        safetensors.torch.save_file(state, weights_tmp, metadata=metadata)
        digest = hashlib.sha256(weights_tmp.read_bytes()).hexdigest()
        card_tmp.write_text(dataclasses.replace(card, sha256=digest).to_json(), encoding="utf-8")
        publish(weights_tmp, weights_path)
        publish(card_tmp, card_path)
    return card_path
