"""Examples for the island classifier: the islands of simulated fields.

The islands (:func:`~diffuseradio.postprocess.find_islands`) of simulated
fields, found and cut out exactly as at inference from the fields' network
input and the segmentation network's probability, each labelled diffuse
when at least half of its pixels are diffuse in the truth map. Fields are
simulated in worker processes and the examples can be cached by recipe.
"""

import dataclasses
import hashlib
import json
import logging
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage
from tqdm.auto import tqdm

from ..atomic import atomic_write
from ..models import (
    load_model,
    predict_image,
)
from ..postprocess.islands import classifier_cutouts
from .datasets import simulated_field

__all__ = ["IslandExamples", "island_examples", "DIFFUSE_FRACTION"]

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
        (``island_cutouts``).
    diffuse : numpy.ndarray
        bool ``(N,)``: the label, at least ``DIFFUSE_FRACTION`` of the
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
    settings : `~diffuseradio.models.IslandSettings`
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
        Keep the examples there, in blocks of ``CACHE_BLOCK_FIELDS``
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
