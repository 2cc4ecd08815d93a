"""The training loop: AdamW, warm-up + cosine schedule, bf16, checkpoints, DDP.

Checkpoints are a safetensors file (network weights and optimizer state) and
a JSON file (epoch, schedule, history, random state): nothing is pickled, and
a resumed run continues bit for bit. Under ``torchrun`` the network is
wrapped in DistributedDataParallel; every process takes its share of each
global batch, and rank 0 validates, logs and writes checkpoints.
"""

import csv
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ..atomic import atomic_write
from ..models import ARCHITECTURES, load_model, select_precision
from ..models.inference import predict_image
from ..models.registry import check_state
from ..postprocess.labels import segment
from .datasets import FitsPairTiles, SimulatedTiles, simulated_field
from .losses import segmentation_loss
from .metrics import (
    OPERATING_THRESHOLDS,
    ObjectCounts,
    object_counts,
    object_f1,
    operating_point,
    pixel_counts,
    pixel_scores,
)

__all__ = ["Trainer", "join_torchrun"]

log = logging.getLogger(__name__)

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_STATE = "checkpoint.json"
BEST_WEIGHTS = "best.safetensors"
METRICS_LOG = "metrics.csv"


class Trainer:
    """Train a network as a :class:`~diffuseradio.training.TrainingConfig` says.

    Parameters
    ----------
    config : TrainingConfig
    output_dir : str or os.PathLike, optional
        Where checkpoints, the metrics log and the best weights go (default
        ``config.training.output_dir``).
    device : str, optional
        ``"cpu"`` or a CUDA device.
    command : str, optional
        The command line that started the run, recorded in the model card.

    Notes
    -----
    With ``[training] ema_decay`` set, an exponential moving average of the
    weights (:class:`torch.optim.swa_utils.AveragedModel`) is updated after
    every step; validation, the choice of the best epoch and
    ``best.safetensors`` use the averaged weights, and checkpoints carry
    them so that a resumed run continues bit for bit.

    Examples
    --------
    >>> from diffuseradio.training import Trainer, TrainingConfig
    >>> config = TrainingConfig.from_dict({"training": {"epochs": 2}})
    >>> trainer = Trainer(config, output_dir="run")  # doctest: +SKIP
    >>> history = trainer.fit()  # doctest: +SKIP
    """

    def __init__(self, config, *, output_dir=None, device="cpu", command=None):
        self.config = config
        settings = config.training
        if settings.monitor not in MONITORS:
            raise ValueError(f"unknown monitor {settings.monitor!r}; known: {', '.join(MONITORS)}")
        self.output_dir = Path(output_dir or settings.output_dir)
        self.device = torch.device(device)
        self.command = command
        self.rank, self.world = _distributed()
        if settings.batch_size % self.world:
            raise ValueError(
                f"batch_size {settings.batch_size} is not divisible by {self.world} processes"
            )
        if settings.threads:
            torch.set_num_threads(settings.threads)
        torch.manual_seed(settings.seed)
        self.network = _build_network(config)
        if settings.initial_weights:
            _load_initial_weights(self.network, settings.initial_weights)
        self.network.to(self.device, memory_format=torch.channels_last)
        self.model = self.network
        self.averaged = None
        if settings.ema_decay:
            if not 0 < settings.ema_decay < 1:
                raise ValueError(f"ema_decay must be in (0, 1), not {settings.ema_decay}")
            self.averaged = AveragedModel(
                self.network,
                multi_avg_fn=get_ema_multi_avg_fn(settings.ema_decay),
                use_buffers=True,
            )
        if self.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(self.network)
        self.precision = select_precision(settings.precision, self.device)
        self.optimizer = torch.optim.AdamW(
            self.network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        total = settings.epochs * settings.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _warmup_cosine(settings.warmup_steps, total)
        )
        self.loss = segmentation_loss(settings.loss)
        self.dataset = (
            FitsPairTiles(config, config.data.fits_pairs)
            if config.data.fits_pairs
            else SimulatedTiles(config)
        )
        self.epoch = 0
        self.history = []
        self.best_score = -math.inf
        self.epochs_without_improvement = 0
        self._validation = None

    # --------------------------------------------------------------- loop

    def fit(self, *, progress=True):
        """Train until the last epoch or early stopping.

        Parameters
        ----------
        progress : bool, optional
            Show a progress bar over the steps of each epoch (rank 0).

        Returns
        -------
        list of dict
            One dictionary of metrics per epoch.
        """
        settings = self.config.training
        if self.rank == 0:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        while self.epoch < settings.epochs:
            started = time.perf_counter()
            train_loss = self.train_epoch(progress=progress and self.rank == 0)
            record = {"epoch": self.epoch + 1, "train_loss": train_loss}
            if self.rank == 0:
                record.update(self.validate())
                record["seconds"] = round(time.perf_counter() - started, 1)
                self._update_best(record)
            self.epoch += 1
            self.history.append(record)
            if self.rank == 0:
                self._log(record)
                self.save_checkpoint()
                log.info("epoch %d: %s", self.epoch, record)
            if self._should_stop():
                log.info(
                    "early stopping after epoch %d: no better validation %s for %d epochs",
                    self.epoch,
                    self.config.training.monitor,
                    self.epochs_without_improvement,
                )
                break
        return self.history

    def train_epoch(self, *, progress=False):
        """One epoch of ``steps_per_epoch`` optimisation steps; the mean loss."""
        settings = self.config.training
        per_rank = settings.batch_size // self.world
        first = self.epoch * settings.steps_per_epoch
        indices = [
            step * settings.batch_size + self.rank * per_rank + k
            for step in range(first, first + settings.steps_per_epoch)
            for k in range(per_rank)
        ]
        if isinstance(self.dataset, FitsPairTiles):
            indices = [i % len(self.dataset) for i in indices]
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=per_rank,
            sampler=indices,
            num_workers=settings.num_workers,
            persistent_workers=False,
        )
        self.model.train()
        losses = []
        for batch in tqdm(loader, desc=f"epoch {self.epoch + 1}", disable=not progress):
            losses.append(self.step(*batch))
        return float(np.mean(losses))

    def step(self, images, labels, weights=None):
        """One optimisation step on a batch (with optional pixel weights); returns the loss."""
        images = images.to(self.device, memory_format=torch.channels_last)
        labels = labels.to(self.device)
        if weights is not None:
            weights = weights.to(self.device)
        with torch.autocast(
            self.device.type,
            dtype=self.precision,
            enabled=self.precision != torch.float32,
        ):
            logits = self.model(images)
        loss = self.loss(logits.float(), labels, weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.training.grad_clip:
            torch.nn.utils.clip_grad_norm_(
                self.network.parameters(), self.config.training.grad_clip
            )
        self.optimizer.step()
        self.scheduler.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.network)
        return float(loss.detach())

    @property
    def evaluated_network(self):
        """The network that is validated, selected and exported: the averaged one with EMA."""
        return self.network if self.averaged is None else self.averaged.module

    # --------------------------------------------------------- validation

    def validation_fields(self):
        """The fixed validation set: ``validation_fields`` simulated fields.

        Drawn with ``validation_seed``, which training never uses.
        """
        if self._validation is None:
            data = self.config.data
            self._validation = [
                simulated_field(self.config, data.validation_seed, index, validation=True)
                for index in range(data.validation_fields)
            ]
        return self._validation

    def validate(self, fields=None):
        """Pixel and object metrics on the validation fields.

        Returns
        -------
        dict
            ``val_iou``, ``val_dice``, ``val_precision``, ``val_recall`` and the
            object-level summary of :class:`~diffuseradio.training.metrics.ObjectCounts`
            at ``threshold``, then the operating point
            (``operating_point`` over
            ``OPERATING_THRESHOLDS`` within ``max_radio_galaxy_rate``):
            ``operating_threshold``, ``operating_f1``,
            ``operating_completeness_snr_ge_8``, ``operating_purity`` and
            ``operating_radio_galaxy_false_positive_rate`` (all prefixed ``val_``).
        """
        settings = self.config.training
        pixels = np.zeros(3, dtype=np.int64)
        thresholds = sorted({settings.threshold, *OPERATING_THRESHOLDS})
        objects = {threshold: ObjectCounts() for threshold in thresholds}
        for field, image in fields or self.validation_fields():
            probability = self.predict(image)
            diffuse = probability if probability.ndim == 2 else 1 - probability[0]
            pixels += pixel_counts(diffuse >= settings.threshold, field.truth > 0)
            min_area = settings.min_area_beams * field.mosaic.beam_area_pixels
            for threshold in thresholds:
                low = min(settings.low_threshold, threshold) if settings.low_threshold else None
                labels = segment(diffuse, threshold, min_area=min_area, low_threshold=low)
                objects[threshold] = objects[threshold] + object_counts(labels, field)
        scores = pixel_scores(pixels)
        scores.update(objects[settings.threshold].summary())
        chosen, point = operating_point(objects, settings.max_radio_galaxy_rate)
        scores["operating_threshold"] = float("nan") if chosen is None else float(chosen)
        scores.update({f"operating_{name}": value for name, value in point.items()})
        self.evaluated_network.train()
        return {f"val_{name}": value for name, value in scores.items()}

    def predict(self, image):
        """Probability of diffuse emission for a normalised image (2-D, or one map per class)."""
        grid = self.config.grid
        probability, _ = predict_image(
            self.evaluated_network,
            image,
            tile_size=grid.tile_size,
            overlap=grid.tile_overlap,
            device=self.device,
            precision=self.precision,
        )
        return probability[0] if probability.shape[0] == 1 else probability

    # -------------------------------------------------------- checkpoints

    def save_checkpoint(self, directory=None):
        """Write ``checkpoint.safetensors`` and ``checkpoint.json`` (atomically)."""
        directory = Path(directory or self.output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in _state(self.network)}
        if self.averaged is not None:
            for name, value in _state(self.averaged):
                tensors[f"ema.{name}"] = value.detach().cpu().contiguous()
        optimizer = self.optimizer.state_dict()
        for index, state in optimizer["state"].items():
            for name, value in state.items():
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
        tensors["rng.torch"] = torch.get_rng_state()
        state = {
            "epoch": self.epoch,
            "history": self.history,
            "best_score": self.best_score,
            "epochs_without_improvement": self.epochs_without_improvement,
            "param_groups": optimizer["param_groups"],
            "scheduler": self.scheduler.state_dict(),
            "config": self.config.to_dict(),
            "command": self.command,
        }
        atomic_write(directory / CHECKPOINT_WEIGHTS, lambda tmp: save_file(tensors, tmp))
        atomic_write(
            directory / CHECKPOINT_STATE,
            lambda tmp: Path(tmp).write_text(json.dumps(_jsonable(state), indent=1)),
        )

    def load_checkpoint(self, directory):
        """Restore a run from :meth:`save_checkpoint`'s files (no unpickling)."""
        directory = Path(directory)
        if directory.is_file():
            directory = directory.parent
        tensors = load_file(directory / CHECKPOINT_WEIGHTS)
        state = json.loads((directory / CHECKPOINT_STATE).read_text())
        model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.network.load_state_dict(model_state)
        if self.averaged is not None:
            self.averaged.load_state_dict(
                {k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")}
            )
        optimizer_state = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                optimizer_state.setdefault(int(index), {})[name] = value
        self.optimizer.load_state_dict(
            {"state": optimizer_state, "param_groups": state["param_groups"]}
        )
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(tensors["rng.torch"])
        self.epoch = state["epoch"]
        self.history = state["history"]
        self.best_score = state["best_score"]
        self.epochs_without_improvement = state["epochs_without_improvement"]
        if state.get("command"):
            self.command = state["command"]

    def load_best(self):
        """Load the weights of the epoch with the best validation score (``monitor``)."""
        self.network.load_state_dict(load_file(self.output_dir / BEST_WEIGHTS))

    @classmethod
    def resume(cls, checkpoint, *, device="cpu"):
        """A trainer rebuilt from a checkpoint folder or file, ready to :meth:`fit`."""
        from .config import TrainingConfig

        directory = Path(checkpoint)
        directory = directory.parent if directory.is_file() else directory
        state = json.loads((directory / CHECKPOINT_STATE).read_text())
        trainer = cls(
            TrainingConfig.from_dict(state["config"]), output_dir=directory, device=device
        )
        trainer.load_checkpoint(directory)
        return trainer

    # ----------------------------------------------------------- helpers

    def _update_best(self, record):
        score = MONITORS[self.config.training.monitor](record)
        record["score"] = score
        if score > self.best_score:
            self.best_score = score
            self.epochs_without_improvement = 0
            record["best"] = True
            tensors = {k: v.detach().cpu().contiguous() for k, v in _state(self.evaluated_network)}
            atomic_write(self.output_dir / BEST_WEIGHTS, lambda tmp: save_file(tensors, tmp))
        else:
            self.epochs_without_improvement += 1
            record["best"] = False

    def _should_stop(self):
        stop = torch.tensor(
            [self.epochs_without_improvement >= self.config.training.patience], dtype=torch.int32
        )
        if self.world > 1:
            dist.broadcast(stop, src=0)
        return bool(stop.item())

    def _log(self, record):
        path = self.output_dir / METRICS_LOG
        names = list(record)
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)


#: Validation scores that can select the best epoch (``[training] monitor``).
MONITORS = {
    "object_f1": lambda r: object_f1(r["val_completeness_snr_ge_8"], r["val_purity"]),
    "operating_f1": lambda r: r["val_operating_f1"],
    "dice": lambda r: r["val_dice"],
}


def _load_initial_weights(network, spec):
    """Start from trained weights: a run's ``.safetensors`` or any :func:`load_model` spec.

    A model with an island stage gives its segmentation network only.
    """
    path = Path(spec)
    if path.suffix == ".safetensors" and not path.with_suffix(".json").exists():
        if not path.is_file():
            raise FileNotFoundError(f"initial weights {path} do not exist")
        state = load_file(path)
    else:
        state = load_model(spec, device="cpu", precision="fp32", progress=False).model.state_dict()
        state = {k: v for k, v in state.items() if not k.startswith("island_classifier.")}
    state = _inflate_input_channels(network, state)
    check_state(network, state, f"initial weights {spec}")
    network.load_state_dict(state)


def _inflate_input_channels(network, state):
    """Give weights trained on fewer input channels zero weights for the new ones.

    A convolution whose weights differ from the network's only by having
    fewer input channels (the first layer of a one-channel model, when a
    native channel is added) gets the new channels' weights set to zero: the
    network starts out computing exactly what the trained one did, and
    learns to use the new channel.
    """
    expected = network.state_dict()
    state = dict(state)
    for key, tensor in state.items():
        target = expected.get(key)
        if (
            target is not None
            and tensor.ndim == 4
            and tensor.shape[0] == target.shape[0]
            and tensor.shape[2:] == target.shape[2:]
            and tensor.shape[1] < target.shape[1]
        ):
            inflated = torch.zeros(target.shape, dtype=tensor.dtype)
            inflated[:, : tensor.shape[1]] = tensor
            state[key] = inflated
    return state


def _build_network(config):
    try:
        network_class = ARCHITECTURES[config.model.architecture]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(
            f"unknown architecture {config.model.architecture!r}; known: {known}"
        ) from None
    return network_class(
        in_channels=len(config.input_channels), num_classes=config.num_outputs, **config.model.args
    )


def _state(network):
    return network.state_dict().items()


def _distributed():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _warmup_cosine(warmup, total):
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total - warmup, 1)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    return value


def join_torchrun(device):
    """Join the process group that ``torchrun`` describes; the device of this rank.

    Outside ``torchrun`` (``WORLD_SIZE`` unset or 1), or when the group is
    already set up, nothing happens.

    Parameters
    ----------
    device : str
        The device asked for; on CUDA each rank takes GPU ``LOCAL_RANK``.

    Returns
    -------
    str
        The device of this rank.
    """
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if str(device).startswith("cuda"):
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        return f"cuda:{local_rank}"
    dist.init_process_group("gloo")
    return device
