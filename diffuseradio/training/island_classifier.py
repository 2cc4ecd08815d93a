"""Training the island classifier of a model's second stage.

The classifier learns on the islands of training fields
(:mod:`~diffuseradio.training.island_data`, with the beam, noise and
tapered-channel jitter of the model's training configuration) and is
selected by its ROC AUC on the islands of fields simulated with another
seed; the segmentation network is not touched. :func:`train_island_stage`
is the whole recipe of ``diffuseradio train-islands``.
"""

import copy
import dataclasses
import inspect
import logging
import time

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..models import (
    IslandClassifier,
    classify_cutouts,
    dihedral,
    load_model,
    select_device,
    select_precision,
)
from .island_data import DIFFUSE_FRACTION, island_examples
from .losses import focal
from .metrics import roc_auc

__all__ = ["train_island_classifier", "add_islands", "train_island_stage"]

log = logging.getLogger(__name__)


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


def train_island_stage(
    model,
    settings,
    *,
    version,
    examples=None,
    classifier_args=None,
    fit=None,
    progress=True,
    command=None,
):
    """Give a trained model an island stage: the whole recipe of ``diffuseradio train-islands``.

    Islands of fields simulated with the model's own training configuration
    (:func:`~diffuseradio.training.island_examples`) train a classifier
    (:func:`train_island_classifier`), which joins the network as its second
    stage (:func:`add_islands`) with a card that records the recipe.

    Parameters
    ----------
    model : str or os.PathLike
        Registry name, ``name@version`` or card path of a model whose card
        holds its training configuration.
    settings : `~diffuseradio.models.IslandSettings`
        How islands are found and cut out.
    version : str
        Version of the new card.
    examples : dict, optional
        How the islands are made: ``fields`` (500) and ``seed`` (0) of the
        training fields; ``validation_fields`` (48) of the configuration's
        validation seed, which select the epoch; ``diffuse_fraction``
        (``DIFFUSE_FRACTION``) of an
        island's pixels that must be diffuse truth for it to count as
        diffuse; ``workers`` (1) simulating fields; ``cache_dir`` (None) to
        keep the simulated islands in and reuse them in later runs.
    classifier_args : dict, optional
        Arguments of :class:`~diffuseradio.models.IslandClassifier`
        (e.g. ``{"widths": [16, 32, 64]}``).
    fit : dict, optional
        Keyword arguments of :func:`train_island_classifier` (``epochs``,
        ``batch_size``, ``learning_rate``, ``seed`` of the network,
        ``device``, ``precision``, ``focal_gamma``...), its defaults
        otherwise; all are recorded in the card.
    progress : bool, optional
    command : str, optional
        The command line, recorded in the card.

    Returns
    -------
    network : torch.nn.Module
        The model's network with its island classifier.
    card : `~diffuseradio.models.ModelCard`
        Its new card (save both with :func:`~diffuseradio.models.save_model`).

    Raises
    ------
    ValueError
        If the model's card holds no training configuration.
    """
    from .config import TrainingConfig

    loaded = load_model(model, device="cpu")
    if "config" not in loaded.card.training:
        raise ValueError(
            f"{loaded.card.identifier} has no training configuration in its card: islands are "
            "learnt on fields simulated with it"
        )
    config = TrainingConfig.from_dict(loaded.card.training["config"])
    islands = {**dataclasses.asdict(settings), "args": dict(classifier_args or {})}
    card = dataclasses.replace(loaded.card, islands=islands)
    recipe = {**_EXAMPLES, **(examples or {})}
    unknown = sorted(set(recipe) - set(_EXAMPLES))
    if unknown:
        raise TypeError(f"unknown examples options {unknown}; known: {sorted(_EXAMPLES)}")
    common = {key: recipe[key] for key in ("workers", "cache_dir")} | {"progress": progress}
    validation_seed = config.data.validation_seed
    examples = {
        "training": island_examples(
            model, config, settings, recipe["seed"], recipe["fields"], **common
        ),
        "validation": island_examples(
            model,
            config,
            settings,
            validation_seed,
            recipe["validation_fields"],
            validation=True,
            **common,
        ),
    }
    examples = {k: v.labelled(recipe["diffuse_fraction"]) for k, v in examples.items()}
    fit = {**_defaults(train_island_classifier), **(fit or {})}
    classifier, history = train_island_classifier(
        card, examples["training"], examples["validation"], **{**fit, "progress": progress}
    )
    best = max(history, key=lambda row: row["val_auc"])
    dtype = select_precision(fit["precision"], select_device(fit["device"]))
    training = {
        "command": command,
        "base_model": loaded.card.identifier,
        **{key: recipe[key] for key in ("fields", "seed", "validation_fields")},
        "validation_seed": validation_seed,
        "network_seed": fit["seed"],
        "diffuse_fraction": recipe["diffuse_fraction"],
        **{key: fit[key] for key in ("focal_gamma", "epochs", "batch_size", "learning_rate")},
        "precision": str(dtype).removeprefix("torch."),
        "islands": {k: int(v.diffuse.size) for k, v in examples.items()},
        "diffuse_islands": {k: int(v.diffuse.sum()) for k, v in examples.items()},
        "best_epoch": best["epoch"],
        "validation_auc": round(best["val_auc"], 4),
        "validation_auc_under_30_beams": round(best["val_auc_small"], 4),
    }
    return add_islands(loaded.model, card, classifier, version=version, training=training)


#: The options of the examples of :func:`train_island_stage`, with their defaults.
_EXAMPLES = {
    "fields": 500,
    "seed": 0,
    "validation_fields": 48,
    "diffuse_fraction": DIFFUSE_FRACTION,
    "workers": 1,
    "cache_dir": None,
}


def _defaults(function):
    """The keyword arguments of ``function`` that have defaults, with them."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
