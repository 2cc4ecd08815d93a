"""Training the island classifier of a model's second stage.

Examples are the islands (:func:`diffuseradio.islands.find_islands`) of
simulated fields, found and cut out exactly as at inference from the
fields' network input and the segmentation network's probability, each
labelled diffuse when at least half of its pixels are diffuse in the truth
map. The classifier learns on the islands of training fields
(with the beam, noise and tapered-channel jitter of the model's training
configuration) and is selected by its ROC AUC on the islands of fields
simulated with another seed; the segmentation network is not touched.
"""

import copy
import dataclasses
import hashlib
import json
import logging
import time
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..atomic import atomic_write
from ..models import (
    IslandClassifier,
    classify_cutouts,
    dihedral,
    load_model,
    predict_image,
    select_device,
    select_precision,
)
from ..postprocess.islands import classifier_cutouts
from .datasets import simulated_field
from .losses import focal
from .metrics import roc_auc

__all__ = [
    "IslandExamples",
    "island_examples",
    "train_island_classifier",
    "add_islands",
]

log = logging.getLogger(__name__)

#: Fraction of an island's pixels that must be diffuse truth for it to count as diffuse.
DIFFUSE_FRACTION = 0.5

#: Fields per cached block of island examples (:func:`island_examples`).
CACHE_BLOCK_FIELDS = 500


class IslandExamples(NamedTuple):
    """Labelled islands of simulated fields.

    Attributes
    ----------
    cutouts : numpy.ndarray
        float16 ``(N, C, S, S)`` cutouts: the network input's channels,
        the segmentation probability and the island's mask
        (:func:`~diffuseradio.islands.island_cutouts`).
    diffuse : numpy.ndarray
        bool ``(N,)``: the label, at least :data:`DIFFUSE_FRACTION` of the
        island's pixels are diffuse truth (another fraction:
        :meth:`labelled`).
    diffuse_fraction : numpy.ndarray
        float32 ``(N,)``: fraction of the island's pixels that are diffuse
        truth.
    area_beams : numpy.ndarray
        ``(N,)`` island areas in working beams.
    field : numpy.ndarray
        ``(N,)`` index of the field each island comes from.
    """

    cutouts: np.ndarray
    diffuse: np.ndarray
    diffuse_fraction: np.ndarray
    area_beams: np.ndarray
    field: np.ndarray

    def labelled(self, fraction):
        """The same examples, diffuse where at least ``fraction`` of the island is.

        Parameters
        ----------
        fraction : float
            In (0, 1].
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"the diffuse fraction must be in (0, 1], not {fraction!r}")
        return self._replace(diffuse=self.diffuse_fraction >= fraction)

    def save(self, path):
        """Write the examples to a ``.npz`` file (atomically: no partial file on failure)."""
        atomic_write(path, lambda temporary: np.savez(temporary, **self._asdict()))

    @classmethod
    def load(cls, path):
        """Read examples written by :meth:`save` (plain arrays; nothing is unpickled)."""
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in cls._fields if name not in data]
            if missing:
                raise ValueError(
                    f"{path} lacks {', '.join(missing)}: it was written by an older version of "
                    "diffuseradio; simulate the examples again"
                )
            return cls(*(data[name] for name in cls._fields))


_NETWORKS = {}


def _network(spec):
    """The loaded model of ``spec``, loaded once per process (and kept)."""
    if spec not in _NETWORKS:
        _NETWORKS[spec] = load_model(spec, device="cpu", progress=False)
    return _NETWORKS[spec]


def _field_examples(job):
    """Examples of one field: ``job`` is ``(model, config, settings, seed, index, validation)``."""
    spec, config, settings, seed, index, validation = job
    torch.set_num_threads(1)
    model = _network(spec)
    card = model.card
    field, image = simulated_field(config, seed, index, validation=validation)
    probability, _ = predict_image(
        model.model,
        image,
        tile_size=card.tile_size,
        overlap=card.tile_overlap,
        precision=model.precision,
        probabilities=card.probabilities,
    )
    beam = field.mosaic.beam_area_pixels
    labels, ids, cutouts = classifier_cutouts(
        image, probability[-1], beam, settings, normalization=card.normalization
    )
    if not len(ids):
        empty = np.zeros(0)
        return cutouts.astype(np.float16), np.zeros(0, bool), empty, empty, np.zeros(0, int)
    fraction = np.asarray(ndimage.mean(field.truth > 0, labels, ids), np.float32)
    area = np.bincount(labels.ravel())[ids] / beam
    return (
        cutouts.astype(np.float16),
        fraction >= DIFFUSE_FRACTION,
        fraction,
        np.asarray(area),
        np.full(len(ids), index),
    )


def island_examples(
    model,
    config,
    settings,
    seed,
    count,
    *,
    validation=False,
    workers=1,
    progress=False,
    cache_dir=None,
):
    """The labelled islands of ``count`` simulated fields.

    Parameters
    ----------
    model : str or os.PathLike
        The segmentation model (registry name, ``name@version`` or card
        path), run without test-time augmentation on each field for the
        probability channel of the cutouts.
    config : TrainingConfig
        The sky, grid and noise of the fields (the model's training
        configuration).
    settings : `~diffuseradio.islands.IslandSettings`
        How islands are found and cut out.
    seed : int
        Seed of the fields (``simulated_field(config, seed, index)``).
    count : int
        Number of fields.
    validation : bool, optional
        Simulate validation fields (no derived tapered channel).
    workers : int, optional
        Processes simulating fields (each loads the model once).
    progress : bool, optional
        Show a progress bar.
    cache_dir : str or os.PathLike, optional
        Keep the examples there, in blocks of :data:`CACHE_BLOCK_FIELDS`
        fields (``.npz``, each named by a hash of the model's weights, the
        configuration, the island settings, the seed, its range of field
        indices and ``validation``), and read back the blocks already there
        instead of simulating them again: a run with more fields simulates
        only the fields it adds, and an interrupted run loses at most the
        block it was simulating.

    Returns
    -------
    IslandExamples
    """
    spec = str(model)
    if cache_dir is None:
        paths = {range(count): None}
    else:
        names = _cache_names(spec, config, settings, seed, count, validation)
        paths = {fields: Path(cache_dir) / name for fields, name in names.items()}
    missing = [fields for fields, path in paths.items() if path is None or not path.exists()]
    blocks = []
    with _worker_pool(workers if missing else 1) as pool:
        for fields, path in paths.items():
            if fields not in missing:
                log.info(
                    "island examples of fields %d-%d read from %s", fields[0], fields[-1], path
                )
                blocks.append(IslandExamples.load(path))
                continue
            jobs = [(spec, config, settings, seed, i, validation) for i in fields]
            block = _simulated_examples(jobs, pool, progress)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                block.save(path)
            blocks.append(block)
    return _concatenated(blocks)


@contextmanager
def _worker_pool(workers):
    """A pool of ``workers`` spawned processes (each loads the model once), or None for one.

    With one worker the fields are simulated in this process, on one thread as in a
    worker (:func:`_field_examples`); the caller's thread count is restored afterwards.
    """
    if workers <= 1:
        threads = torch.get_num_threads()
        try:
            yield None
        finally:
            torch.set_num_threads(threads)
        return
    with get_context("spawn").Pool(workers) as pool:
        yield pool
        pool.close()  # let the workers exit by themselves: terminating them leaks semaphores
        pool.join()


def _simulated_examples(jobs, pool, progress):
    """The examples of the fields of ``jobs`` (see :func:`_field_examples`), in ``pool``
    when there is one."""
    bar = tqdm(total=len(jobs), desc="fields", unit="field", disable=not progress, leave=False)
    results = pool.imap(_field_examples, jobs, chunksize=4) if pool else map(_field_examples, jobs)
    parts = []
    for part in results:
        parts.append(IslandExamples(*part))
        bar.update()
    bar.close()
    return _concatenated(parts)


def _concatenated(parts):
    """One `IslandExamples` of the islands of ``parts``, in order."""
    return IslandExamples(*(np.concatenate(arrays) for arrays in zip(*parts)))


def _cache_names(spec, config, settings, seed, count, validation):
    """File names of the examples of each block of fields: a hash of everything that makes
    them (the model's weights hashed once)."""
    loaded = _network(spec)
    card = loaded.card
    weights = (
        card.sha256
        or hashlib.sha256(
            b"".join(t.detach().cpu().numpy().tobytes() for t in loaded.model.state_dict().values())
        ).hexdigest()
    )
    kind = "validation" if validation else "training"
    names = {}
    for first in range(0, count, CACHE_BLOCK_FIELDS):
        fields = range(first, min(first + CACHE_BLOCK_FIELDS, count))
        recipe = {
            "model": card.identifier,
            "weights": weights,
            "config": config.to_dict(),
            "settings": _recipe_settings(settings),
            "fields": IslandExamples._fields,
            "seed": seed,
            "fields_range": [fields.start, fields.stop],
            "validation": validation,
        }
        text = json.dumps(recipe, sort_keys=True, default=str)
        names[fields] = f"{card.name}-{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz"
    return names


def _recipe_settings(settings):
    """The island settings as the cache names hash them: with ``context_scale`` 1, the
    one value of a setting removed since, so that examples cached before keep their
    names."""
    return {**dataclasses.asdict(settings), "context_scale": 1}


def _augmented(batch, rng):
    return dihedral(batch, int(rng.integers(4)), bool(rng.integers(2)))


def train_island_classifier(
    card,
    training,
    validation,
    *,
    epochs=16,
    batch_size=64,
    learning_rate=2e-3,
    weight_decay=1e-3,
    seed=0,
    device="cpu",
    precision="fp32",
    progress=False,
    focal_gamma=0.0,
):
    """Train an island classifier; keep the epoch with the best validation AUC.

    Parameters
    ----------
    card : `~diffuseradio.models.ModelCard`
        A card with ``islands`` (cutout size and classifier arguments).
    training, validation : IslandExamples
    epochs, batch_size : int, optional
    learning_rate : float, optional
        Peak of the one-cycle schedule (AdamW).
    weight_decay : float, optional
    seed : int, optional
        Seeds the initial weights, the order of the examples and the
        augmentations.
    device : str or torch.device, optional
        Where to train (:func:`~diffuseradio.models.select_device`); the
        examples are moved there once, in float32.
    precision : str, optional
        ``"fp32"``, or ``"bf16"`` / ``"auto"`` for bfloat16 autocast
        (:func:`~diffuseradio.models.select_precision`; the weights and
        optimiser stay in float32). The classifier runs in the
        ``channels_last`` memory format either way.
    progress : bool, optional
        Show a progress bar over epochs.
    focal_gamma : float, optional
        With ``gamma > 0``, the focal loss: each island's class-balanced
        cross-entropy weighted by ``(1 - p_true) ** gamma``, so that the
        many islands already classified with confidence (compact sources)
        count less than the hard ones (remnant radio galaxies, faint small
        relics); 0 is the plain class-balanced cross-entropy.

    Returns
    -------
    classifier : IslandClassifier
        In evaluation mode, with the best epoch's weights, on the CPU.
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean training loss), ``val_auc``,
        ``val_auc_small`` (islands under 30 beams), ``seconds``.
    """
    if not focal_gamma >= 0:
        raise ValueError(f"focal_gamma must be >= 0, not {focal_gamma!r}")
    device = select_device(device)
    dtype = select_precision(precision, device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    classifier = IslandClassifier(
        card.island_channels, card.island_settings.cutout_pixels, **card.islands["args"]
    ).to(device, memory_format=torch.channels_last)
    x = torch.from_numpy(training.cutouts).to(device, torch.float32)
    y = torch.from_numpy(training.diffuse).to(device, torch.float32)
    if not 0 < float(y.mean()) < 1:
        raise ValueError("the training islands must include both diffuse and other islands")
    steps = epochs * -(-len(x) // batch_size)
    optimizer = torch.optim.AdamW(
        classifier.parameters(), learning_rate / 2, weight_decay=weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=steps)
    positive_weight = (1 - y.mean()) / y.mean()
    small = validation.area_beams < 30
    best, best_state, history = -1.0, None, []
    for epoch in tqdm(range(epochs), desc="epochs", disable=not progress):
        start, losses = time.perf_counter(), []
        classifier.train()
        order = torch.from_numpy(rng.permutation(len(x))).to(device)
        for first in range(0, len(x), batch_size):
            index = order[first : first + batch_size]
            batch = _augmented(x[index], rng)
            batch = batch.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                logits = classifier(batch).float()
            loss = _island_loss(logits, y[index], positive_weight, focal_gamma)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        scores = classify_cutouts(
            classifier,
            validation.cutouts,
            device=device,
            precision=dtype,
            augment=True,
        )
        row = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "val_auc": roc_auc(scores[validation.diffuse], scores[~validation.diffuse]),
            "val_auc_small": roc_auc(
                scores[validation.diffuse & small], scores[~validation.diffuse & small]
            ),
            "seconds": time.perf_counter() - start,
        }
        history.append(row)
        log.info(
            "island classifier epoch %d: loss %.4f, validation AUC %.4f (< 30 beams %.4f)",
            epoch,
            row["loss"],
            row["val_auc"],
            row["val_auc_small"],
        )
        if row["val_auc"] > best:
            best = row["val_auc"]
            best_state = {k: v.detach().clone() for k, v in classifier.state_dict().items()}
    classifier.load_state_dict(best_state)
    return classifier.cpu().eval(), history


def _island_loss(logits, labels, positive_weight, gamma):
    """Mean class-balanced binary cross-entropy of a batch, focal when ``gamma > 0``."""
    if gamma == 0:
        return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=positive_weight)
    loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (torch.where(labels > 0, positive_weight, 1.0) * focal(loss, gamma)).mean()


def add_islands(network, card, classifier, *, version, training=None):
    """A network and card with an island classifier as their second stage.

    Parameters
    ----------
    network : torch.nn.Module
        The segmentation network (unchanged; a copy is returned).
    card : `~diffuseradio.models.ModelCard`
        Its card, with the ``islands`` section the classifier was trained for.
    classifier : IslandClassifier
    version : str
        Version of the new card.
    training : dict, optional
        Merged into the card's ``training`` under ``"islands"``.

    Returns
    -------
    network : torch.nn.Module
        With ``island_classifier``, ready for :func:`~diffuseradio.models.save_model`.
    card : `~diffuseradio.models.ModelCard`
    """
    if card.islands is None:
        raise ValueError(f"card {card.identifier!r} has no 'islands' section for the classifier")
    network = copy.deepcopy(network).cpu()
    network.island_classifier = copy.deepcopy(classifier).cpu().eval()
    info = dict(card.training)
    if training is not None:
        info["islands"] = training
    card = dataclasses.replace(
        card,
        version=version,
        weights_file=f"{card.name}-{version}.safetensors",
        training=info,
        sha256=None,
    )
    return network, card
