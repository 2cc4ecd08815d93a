"""Training configuration, read from a TOML file.

Every key has a default; a TOML file only names what it changes. Sections and
keys (see also :doc:`/training`):

``[model]``
    ``name``, ``version``, ``architecture`` (``"unet"``/``"transunet"``),
    ``args`` (table of network keyword arguments), ``classes`` (list, the
    first is the background; ``["background", "diffuse"]`` trains one
    sigmoid output, more classes one softmax output per class:
    ``["background", "halo", "relic", "bridge"]``), ``description``,
    ``license``, ``citation``.
``[grid]``
    ``beam_arcsec`` and ``pixel_scale_arcsec`` (the working grid),
    ``accepted_beam_arcsec`` (``[min, max]`` input beams, written into the
    card: the beams the model was trained on, ``[data]
    beam_jitter_arcsec``, and finer ones, which are convolved to the
    working beam), ``tile_size``,
    ``tile_overlap``, ``native_beam_arcsec`` (0: one input channel, the
    image at the working beam; e.g. 6: a second channel, the same field at
    this native beam averaged over the working pixels, see
    :mod:`diffuseradio.preprocess.inputs`).
``[normalization]``
    ``name``, ``parameters`` (table), ``rms_box_beams``.
``[data]``
    ``field_size`` (pixels of each simulated field), ``tiles_per_field``,
    ``fields_per_batch`` (consecutive tiles cycle through this many fields,
    so that a batch of that size holds one tile of each instead of several
    crops of one field; the cost stays one simulated field per
    ``tiles_per_field`` tiles),
    ``rms_ujy`` (``[min, max]`` noise per beam, drawn log-uniformly),
    ``native_rms_ujy`` (the same for the native image, drawn independently),
    ``native_oversample`` (native pixels per working pixel along each axis),
    ``derived_tapered_fraction`` (fraction of the training fields whose
    tapered channel is their native image convolved to the working beam, as
    the detector makes it from a native image alone, instead of the
    simulated tapered image with its own noise),
    ``beam_jitter_arcsec`` (``[min, max]`` major axis of the simulated
    fields' beam, or a list of such ranges, one drawn with equal
    probability per field: ``[[18, 24], [24, 60]]`` trains half the fields
    at LoTSS-like beams and half at coarser ones; every field is then
    brought to the working grid exactly as the detector brings an image),
    ``rms_variation`` (``[min, max]``
    fractional rms variation across a field, see
    :class:`~diffuseradio.simulate.SkySimulator`),
    ``population_jitter`` (table of population settings drawn per field,
    log-uniformly in ``[min, max]``, e.g. ``radio_galaxy_density = [10, 35]``),
    ``blank_probability`` (fraction of tiles given a random blanked edge),
    ``seed``, ``validation_seed``, ``validation_fields``, ``population``
    (table of :class:`~diffuseradio.simulate.SkySimulator` population
    settings, e.g. ``minihalo_density = 3`` or ``snr = {relic = [3, 1000]}``;
    numbers are in the units of the defaults), ``validation_population``
    (the same for the validation fields; default: ``population``, and ``{}``
    is the default sky: train on a re-balanced sky, select on the real mix),
    ``fits_pairs`` (list of ``[image, mask]`` paths: train on these instead
    of simulated fields).
``[training]``
    ``batch_size`` (global, over all processes), ``steps_per_epoch``,
    ``epochs``, ``learning_rate``, ``weight_decay``, ``warmup_steps``,
    ``loss`` (``"bce_dice"``, ``"focal_dice"``, ``"tversky"``, ``"bce"``),
    ``precision`` (``"auto"``, ``"bf16"``, ``"fp32"``), ``grad_clip``,
    ``patience`` (epochs without improvement before stopping),
    ``num_workers``, ``threads`` (torch threads, 0 = leave as is),
    ``threshold`` and ``low_threshold`` (seed and growth thresholds of the
    validation detections, written to the card; ``low_threshold = 0``: no
    growth), ``min_area_beams``, ``output_dir``, ``seed``,
    ``monitor`` (validation score that selects the best epoch and drives
    early stopping: ``"object_f1"``, the harmonic mean of completeness at
    integrated S/N >= 8 and purity at ``threshold``; ``"operating_f1"``,
    the best such F1 over thresholds 0.3-0.95 among those that take at most
    ``max_radio_galaxy_rate`` of the radio galaxies for diffuse emission;
    or ``"dice"``, pixel Dice), ``max_radio_galaxy_rate`` (0.1),
    ``initial_weights`` (fine-tune: start from a registered model name,
    ``name@version``, a model card, or a run's ``best.safetensors``),
    ``confuser_weight`` and ``balance_area_beams`` (cross-entropy weights of
    confusing pixels and of small diffuse objects, see
    :func:`~diffuseradio.training.pixel_weights`), ``ema_decay`` (keep an
    exponential moving average of the weights with this decay per step,
    e.g. 0.999, and validate, select and export the averaged weights;
    0 turns it off).
"""

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import astropy.units as u
from radio_beam import Beam

__all__ = [
    "TrainingConfig",
    "ModelSection",
    "GridSection",
    "NormalizationSection",
    "DataSection",
    "TrainingSection",
]


@dataclass
class ModelSection:
    """The ``[model]`` table of a training configuration.

    The network: its architecture and arguments.
    Its fields are the table's keys, described in :class:`TrainingConfig`.
    """

    name: str = "diffuse-unet"
    version: str = "0.1.0"
    architecture: str = "unet"
    args: dict = field(default_factory=lambda: {"depth": 4, "base_width": 16, "norm": "group"})
    classes: list = field(default_factory=lambda: ["background", "diffuse"])
    description: str = ""
    license: str = "BSD-3-Clause"
    citation: str = ""


@dataclass
class GridSection:
    """The ``[grid]`` table of a training configuration.

    The working grid: beam, pixel scale and tiles.
    Its fields are the table's keys, described in :class:`TrainingConfig`.
    """

    beam_arcsec: float = 20.0
    pixel_scale_arcsec: float = 6.0
    accepted_beam_arcsec: list = field(default_factory=lambda: [4.0, 24.0])
    tile_size: int = 256
    tile_overlap: int = 48
    native_beam_arcsec: float = 0.0


@dataclass
class NormalizationSection:
    """The ``[normalization]`` table of a training configuration.

    How images become network input.
    Its fields are the table's keys, described in :class:`TrainingConfig`.
    """

    name: str = "snr_asinh"
    parameters: dict = field(default_factory=lambda: {"softening": 3.0})
    rms_box_beams: float = 30.0


@dataclass
class DataSection:
    """The ``[data]`` table of a training configuration.

    The simulated training fields.
    Its fields are the table's keys, described in :class:`TrainingConfig`.
    """

    field_size: int = 512
    tiles_per_field: int = 4
    fields_per_batch: int = 1
    rms_ujy: list = field(default_factory=lambda: [60.0, 200.0])
    native_rms_ujy: list = field(default_factory=lambda: [50.0, 200.0])
    native_oversample: int = 4
    derived_tapered_fraction: float = 0.0
    beam_jitter_arcsec: list = field(default_factory=lambda: [18.0, 24.0])
    rms_variation: list = field(default_factory=lambda: [0.15, 0.15])
    population_jitter: dict = field(default_factory=dict)
    blank_probability: float = 0.1
    seed: int = 1
    validation_seed: int = 20261125
    validation_fields: int = 48
    population: dict = field(default_factory=dict)
    validation_population: dict = None
    fits_pairs: list = field(default_factory=list)

    def __post_init__(self):
        ranges = self.beam_ranges
        if any(len(r) != 2 or not 0 < r[0] <= r[1] for r in ranges):
            raise ValueError(
                f"[data] beam_jitter_arcsec must be [min, max] or a list of them with "
                f"0 < min <= max, not {self.beam_jitter_arcsec}"
            )
        for key in ("rms_variation", *self.population_jitter):
            value = self.population_jitter.get(key, getattr(self, key, None))
            if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                raise ValueError(f"[data] {key} must be [min, max] with 0 <= min <= max")

    @property
    def beam_ranges(self):
        """``beam_jitter_arcsec`` as a list of ``[min, max]`` ranges."""
        jitter = self.beam_jitter_arcsec
        return [list(jitter)] if jitter and not isinstance(jitter[0], list | tuple) else jitter

    @property
    def validation_settings(self):
        """Population settings of the validation fields."""
        return self.population if self.validation_population is None else self.validation_population


@dataclass
class TrainingSection:
    """The ``[training]`` table of a training configuration.

    The optimisation.
    Its fields are the table's keys, described in :class:`TrainingConfig`.
    """

    batch_size: int = 8
    steps_per_epoch: int = 200
    epochs: int = 20
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    loss: str = "bce_dice"
    precision: str = "auto"
    grad_clip: float = 1.0
    patience: int = 5
    num_workers: int = 1
    threads: int = 0
    threshold: float = 0.5
    low_threshold: float = 0.0
    min_area_beams: float = 4.0
    output_dir: str = "training-run"
    seed: int = 0
    monitor: str = "object_f1"
    max_radio_galaxy_rate: float = 0.1
    initial_weights: str = ""
    confuser_weight: float = 1.0
    balance_area_beams: float = 0.0
    ema_decay: float = 0.0


_SECTIONS = {
    "model": ModelSection,
    "grid": GridSection,
    "normalization": NormalizationSection,
    "data": DataSection,
    "training": TrainingSection,
}


@dataclass
class TrainingConfig:
    """All settings of a training run (see the module docstring for the keys).

    Examples
    --------
    >>> config = TrainingConfig.from_dict({"training": {"epochs": 3}})
    >>> config.training.epochs, config.grid.beam_arcsec
    (3, 20.0)
    """

    model: ModelSection = field(default_factory=ModelSection)
    grid: GridSection = field(default_factory=GridSection)
    normalization: NormalizationSection = field(default_factory=NormalizationSection)
    data: DataSection = field(default_factory=DataSection)
    training: TrainingSection = field(default_factory=TrainingSection)

    def __post_init__(self):
        low, high = self.grid.accepted_beam_arcsec
        trained = [beam for pair in self.data.beam_ranges for beam in pair]
        if min(trained) < low or max(trained) > high:
            raise ValueError(
                f"[data] beam_jitter_arcsec ({min(trained):g}-{max(trained):g} arcsec) must lie "
                f"inside [grid] accepted_beam_arcsec ({low:g}-{high:g} arcsec): the fields are "
                "simulated at beams the detector accepts"
            )

    @classmethod
    def from_dict(cls, values):
        """Build from nested dictionaries; unknown sections or keys are errors."""
        unknown = set(values) - set(_SECTIONS)
        if unknown:
            raise ValueError(f"unknown configuration sections: {sorted(unknown)}")
        sections = {}
        for name, section in _SECTIONS.items():
            given = dict(values.get(name, {}))
            known = {f.name for f in fields(section)}
            extra = set(given) - known
            if extra:
                raise ValueError(
                    f"unknown keys in [{name}]: {sorted(extra)}; known: {sorted(known)}"
                )
            sections[name] = section(**given)
        return cls(**sections)

    @classmethod
    def read(cls, path):
        """Read a TOML file.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        TrainingConfig
        """
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path} is not valid TOML: {err}") from None
        return cls.from_dict(values)

    def to_dict(self):
        """Nested dictionaries of all settings (JSON/TOML-serialisable)."""
        return asdict(self)

    @property
    def input_channels(self):
        """The model card's ``input_channels``: tapered, and native when configured."""
        channels = [{"name": "tapered", "beam_arcsec": self.grid.beam_arcsec}]
        if self.grid.native_beam_arcsec:
            channels.append({"name": "native", "beam_arcsec": self.grid.native_beam_arcsec})
        return channels

    @property
    def native_beam(self):
        """Beam of the native input channel (`radio_beam.Beam`), or None."""
        if not self.grid.native_beam_arcsec:
            return None
        return Beam(self.grid.native_beam_arcsec * u.arcsec)

    @property
    def num_outputs(self):
        """Network output channels: 1 for two classes (sigmoid), else one per class."""
        return 1 if len(self.model.classes) == 2 else len(self.model.classes)
