"""Training data: simulated fields made on the fly, or image/mask FITS pairs.

Both datasets go through the same resolution matching
(``diffuseradio.preprocess.working_grid.to_working_grid``), channel stacking and
normalisation (:func:`diffuseradio.preprocess.inputs.stack_channels`) and tiling
(``diffuseradio.mosaic.tiling.tile_slices``) as inference. Items are
deterministic functions of their index, so a run is reproducible whatever
the number of data-loader workers or processes, and resuming continues with
exactly the data an uninterrupted run would have seen.
"""

import astropy.units as u
import numpy as np
import torch
from radio_beam import Beam
from scipy import ndimage

from ..mosaic import SurveyMosaic
from ..mosaic.tiling import tile_slices
from ..preprocess.inputs import stack_channels
from ..preprocess.working_grid import to_working_grid, working_grid
from ..simulate import SkySimulator

__all__ = [
    "SimulatedTiles",
    "FitsPairTiles",
    "labels_from_truth",
    "pixel_weights",
    "dihedral",
    "simulated_field",
]

#: Largest weight :func:`pixel_weights` gives a small diffuse object.
MAX_OBJECT_WEIGHT = 5.0


def labels_from_truth(truth, classes):
    """Training labels from a simulator truth map.

    Parameters
    ----------
    truth : numpy.ndarray
        Class map (0 background, 1 halo, 2 relic, 3 bridge/filament).
    classes : list of str
        The model's classes; with two, every diffuse class is 1.

    Returns
    -------
    numpy.ndarray
        int64 labels.
    """
    truth = np.asarray(truth)
    if len(classes) == 2:
        return (truth > 0).astype(np.int64)
    return truth.astype(np.int64)


def pixel_weights(
    labels, beam_area, *, confusers=None, confuser_weight=1.0, balance_area_beams=0.0
):
    """Per-pixel weights of the cross-entropy.

    Two kinds of pixels decide what a catalogue gets wrong, yet are few:
    those of radio galaxies and artefacts (false detections) and those of
    small diffuse objects (mini-halos, narrow relics), which a pixel
    average leaves to the large halos.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer labels (0 background) of a whole field.
    beam_area : float
        Beam area in pixels.
    confusers : numpy.ndarray of bool, optional
        Pixels of radio galaxies and artefacts (the simulator's confuser
        mask); those outside diffuse labels get ``confuser_weight``.
    confuser_weight : float, optional
    balance_area_beams : float, optional
        Each connected diffuse region smaller than this many beams gets the
        weight ``sqrt(balance_area_beams / area)`` (at most
        ``MAX_OBJECT_WEIGHT``), so that its loss counts more like a
        large object's; 0 turns this off.

    Returns
    -------
    numpy.ndarray
        float32 weights, 1 where nothing applies.
    """
    weights = np.ones(labels.shape, np.float32)
    if confusers is not None and confuser_weight != 1.0:
        weights[np.asarray(confusers, dtype=bool) & (labels == 0)] = confuser_weight
    if balance_area_beams > 0:
        regions, count = ndimage.label(labels > 0)
        if count:
            area_beams = np.bincount(regions.ravel())[1:] / beam_area
            boost = np.sqrt(balance_area_beams / area_beams)
            boost = np.clip(boost, 1.0, MAX_OBJECT_WEIGHT).astype(np.float32)
            inside = regions > 0
            weights[inside] *= boost[regions[inside] - 1]
    return weights


def dihedral(array, k, flip):
    """Rotate the last two axes by ``k`` quarter turns, then flip them left-right."""
    out = np.rot90(array, k, axes=(-2, -1))
    return np.ascontiguousarray(out[..., ::-1] if flip else out)


def simulated_field(config, seed, index, *, validation=False):
    """Simulate field ``index`` of a training or validation set.

    The beam, noise, rms variation and jittered population settings of each
    field are drawn from the configured ranges (``[data]
    beam_jitter_arcsec``, ``rms_ujy``, then ``native_rms_ujy`` for a model
    with a native channel, ``rms_variation``, ``population_jitter``) with a
    generator seeded by ``(seed, index)``, and so is whether a training
    field's tapered channel is made from its native image
    (``derived_tapered_fraction``; never for validation fields). A field
    whose beam is coarser than the working beam is simulated at the pixel
    scale the detector would resample it to; every field is then brought to
    the working grid as the detector brings an image
    (``to_working_grid``).

    Parameters
    ----------
    config : TrainingConfig
    seed : int
    index : int
    validation : bool, optional
        Draw the sources from ``[data] validation_population`` (when set)
        instead of ``population``.

    Returns
    -------
    field : diffuseradio.simulate.SimulatedField
        With ``field.mosaic`` on the working grid, and its native image
        (``field.native``) when the model has a native channel.
    image : numpy.ndarray
        float32 ``(channels, ny, nx)`` normalised network input.
    """
    data = config.data
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(index), 1)))
    ranges = data.beam_ranges
    low, high = ranges[rng.integers(len(ranges))] if len(ranges) > 1 else ranges[0]
    major = rng.uniform(low, high) * u.arcsec
    rms = np.exp(rng.uniform(*np.log(data.rms_ujy))) * u.uJy / u.beam
    native, derived = {}, False
    if config.native_beam is not None:
        native = {
            "native_beam": config.native_beam,
            "native_rms": np.exp(rng.uniform(*np.log(data.native_rms_ujy))) * u.uJy / u.beam,
            "native_oversample": data.native_oversample,
        }
        if data.derived_tapered_fraction and not validation:
            derived = rng.random() < data.derived_tapered_fraction
    beam, rms_variation, jitter = _field_variations(data, major, rng)
    grid = config.grid
    working = {
        "working_beam": Beam(grid.beam_arcsec * u.arcsec),
        "working_pixel_scale": grid.pixel_scale_arcsec * u.arcsec,
        "accepted_range": grid.accepted_beam_arcsec * u.arcsec,
    }
    simulator = SkySimulator(
        data.field_size,
        working_grid(beam, working["working_pixel_scale"], **working).pixel_scale,
        beam,
        rms,
        seed=seed,
        rms_variation=rms_variation,
        **native,
        **{**(data.validation_settings if validation else data.population), **jitter},
    )
    field = simulator.field(int(index))
    field.mosaic, _ = to_working_grid(field.mosaic, **working)
    tapered = field.mosaic
    if derived:  # as the detector makes it from the native image alone
        tapered = field.native.smooth_and_resample(
            config.grid.beam_arcsec * u.arcsec, config.grid.pixel_scale_arcsec * u.arcsec
        )
    image = stack_channels(
        tapered,
        field.native,
        native_beam=config.native_beam,
        name=config.normalization.name,
        parameters=config.normalization.parameters,
        rms_box_beams=config.normalization.rms_box_beams,
    )
    return field, image


def _field_variations(data, major, rng):
    """A field's beam, rms variation and jittered population settings.

    Drawn after every other setting of the field, so that a configuration
    that varies none of them simulates the fields it always did.
    """
    beam = Beam(major)  # round: the detector makes every beam round (see working_grid)
    rms_variation = rng.uniform(*data.rms_variation)
    jitter = {
        key: float(np.exp(rng.uniform(*np.log(span))))
        for key, span in sorted(data.population_jitter.items())
    }
    return beam, rms_variation, jitter


class SimulatedTiles(torch.utils.data.Dataset):
    """Tiles cut from simulated fields, made on the fly.

    Items come in blocks of ``fields_per_batch * tiles_per_field``: item
    ``i`` of a block is a tile of the block's field ``i % fields_per_batch``,
    so consecutive items cycle through the block's fields and a batch of
    ``fields_per_batch`` items holds one tile of each. Each tile's crop
    position, rotation/flip and optional blanked edge are drawn from a
    generator seeded by ``(seed, i)``. A worker simulates each field of a
    block once and keeps the block's fields while it needs them.

    Parameters
    ----------
    config : TrainingConfig
    seed : int, optional
        Default ``config.data.seed``.
    length : int, optional
        Nominal length (items are defined for any non-negative index).
    """

    def __init__(self, config, *, seed=None, length=2**31 - 1):
        self.config = config
        self.seed = config.data.seed if seed is None else int(seed)
        self.length = length
        for key in ("tiles_per_field", "fields_per_batch"):
            if getattr(config.data, key) < 1:
                raise ValueError(f"[data] {key} must be >= 1, not {getattr(config.data, key)}")
        self._cache = {}

    def __len__(self):
        return self.length

    def field_index(self, index):
        """The number of the simulated field that item ``index`` is cut from."""
        data = self.config.data
        block, position = divmod(int(index), data.fields_per_batch * data.tiles_per_field)
        return block * data.fields_per_batch + position % data.fields_per_batch

    def _field(self, index):
        if index not in self._cache:
            if len(self._cache) >= self.config.data.fields_per_batch:
                del self._cache[next(iter(self._cache))]  # the oldest field
            field, image = simulated_field(self.config, self.seed, index)
            labels = labels_from_truth(field.truth, self.config.model.classes)
            weights = pixel_weights(
                labels,
                field.mosaic.beam_area_pixels,
                confusers=field.confusers,
                confuser_weight=self.config.training.confuser_weight,
                balance_area_beams=self.config.training.balance_area_beams,
            )
            self._cache[index] = (image, labels, weights)
        return self._cache[index]

    def __getitem__(self, index):
        data = self.config.data
        size = self.config.grid.tile_size
        image, labels, weights = self._field(self.field_index(index))
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(index), 2)))
        y0 = rng.integers(0, image.shape[-2] - size + 1)
        x0 = rng.integers(0, image.shape[-1] - size + 1)
        window = (slice(y0, y0 + size), slice(x0, x0 + size))
        tile, target = image[(slice(None), *window)].copy(), labels[window].copy()
        if rng.random() < data.blank_probability:
            _blank_edge(tile, target, rng)
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        return _item(tile, target, weights[window], k, flip)


class FitsPairTiles(torch.utils.data.Dataset):
    """Tiles of image/mask FITS pairs from disk (users' own simulations or labels).

    Each image is read with :meth:`SurveyMosaic.read
    <diffuseradio.SurveyMosaic.read>`, brought to the working grid and
    normalised exactly as at inference; its mask (integer class labels on
    the image's grid) is reprojected to the working grid by nearest
    neighbour. Tiles follow ``tile_slices``; each
    item gets a rotation/flip drawn from ``(seed, index)``.

    Parameters
    ----------
    config : TrainingConfig
    pairs : list of (path, path)
        Image and mask files.
    seed : int, optional
    """

    def __init__(self, config, pairs, *, seed=None):
        if config.native_beam is not None:
            raise ValueError(
                "[data] fits_pairs trains one-channel models only; set [grid] "
                "native_beam_arcsec = 0"
            )
        self.config = config
        self.seed = config.data.seed if seed is None else int(seed)
        self.images, self.labels, self.weights, self.items = [], [], [], []
        for number, (image_path, mask_path) in enumerate(pairs):
            image, labels, beam_area = self._load(image_path, mask_path)
            self.images.append(image)
            self.labels.append(labels)
            self.weights.append(
                pixel_weights(
                    labels,
                    beam_area,
                    balance_area_beams=config.training.balance_area_beams,
                )
            )
            grid = config.grid
            for window in tile_slices(image.shape[-2:], grid.tile_size, grid.tile_overlap):
                self.items.append((number, window))

    def _load(self, image_path, mask_path):
        from astropy.io import fits
        from reproject import reproject_interp

        config = self.config
        mosaic = SurveyMosaic.read(image_path)
        matched, _ = to_working_grid(
            mosaic,
            working_beam=Beam(config.grid.beam_arcsec * u.arcsec),
            working_pixel_scale=config.grid.pixel_scale_arcsec * u.arcsec,
            accepted_range=config.grid.accepted_beam_arcsec * u.arcsec,
        )
        with fits.open(mask_path) as hdul:
            mask = np.asarray(hdul[0].data).squeeze()
        if mask.shape != mosaic.shape:
            raise ValueError(
                f"mask {mask_path} has shape {mask.shape}, image {image_path} {mosaic.shape}"
            )
        labels, _ = reproject_interp(
            (mask.astype(np.float32), mosaic.wcs),
            matched.wcs,
            shape_out=matched.shape,
            order="nearest-neighbor",
        )
        image = stack_channels(
            matched,
            name=config.normalization.name,
            parameters=config.normalization.parameters,
            rms_box_beams=config.normalization.rms_box_beams,
        )
        labels = labels_from_truth(np.nan_to_num(labels).astype(np.int64), config.model.classes)
        return image, labels, matched.beam_area_pixels

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        number, window = self.items[index]
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(index), 3)))
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        tile = self.images[number][(slice(None), *window)]
        target = self.labels[number][window]
        return _item(tile, target, self.weights[number][window], k, flip)


def _item(tile, target, weights, k, flip):
    """``(image (C, H, W), labels (H, W), weights (H, W))`` tensors, rotated/flipped."""
    return (
        torch.from_numpy(dihedral(tile, k, flip)),
        torch.from_numpy(dihedral(target, k, flip)),
        torch.from_numpy(dihedral(weights, k, flip)),
    )


def _blank_edge(tile, target, rng):
    """Blank the part of a tile beyond a random straight edge (as mosaic borders)."""
    size = tile.shape[-1]
    angle = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(0.5, 0.9) * size / 2
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    outside = xx * np.cos(angle) + yy * np.sin(angle) > offset
    tile[:, outside] = 0.0  # what a blanked (NaN) pixel becomes after normalisation
    target[outside] = 0
