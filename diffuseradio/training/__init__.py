"""Training networks on simulated skies or on users' own labelled images.

See :doc:`/training` for the configuration keys and the commands that
trained the shipped models, and :doc:`/evaluation` for how models are
evaluated (:func:`evaluate_models`, ``diffuseradio evaluate``).
"""

from .benchmark import (
    BenchmarkCell,
    benchmark_table,
    breakdown_table,
    run_benchmark,
    worst_cell,
)
from .config import TrainingConfig
from .datasets import FitsPairTiles, SimulatedTiles, pixel_weights, simulated_field
from .evaluate import ModelEvaluation, evaluate_models, held_out_fields, sweep_points
from .export import export_model, model_card
from .island_classifier import add_islands, train_island_classifier, train_island_stage
from .island_data import IslandExamples, island_examples
from .losses import LOSSES, segmentation_loss
from .metrics import (
    OPERATING_THRESHOLDS,
    SIZE_BINS,
    SNR_BINS,
    ObjectCounts,
    binomial_interval,
    object_counts,
    object_coverage,
    object_f1,
    operating_point,
    pixel_counts,
    pixel_scores,
    roc_auc,
)
from .trainer import Trainer, join_torchrun

__all__ = [
    "TrainingConfig",
    "Trainer",
    "join_torchrun",
    "SimulatedTiles",
    "FitsPairTiles",
    "simulated_field",
    "pixel_weights",
    "export_model",
    "model_card",
    "LOSSES",
    "segmentation_loss",
    "ObjectCounts",
    "object_counts",
    "object_coverage",
    "pixel_counts",
    "pixel_scores",
    "SNR_BINS",
    "SIZE_BINS",
    "OPERATING_THRESHOLDS",
    "object_f1",
    "operating_point",
    "binomial_interval",
    "roc_auc",
    "IslandExamples",
    "island_examples",
    "train_island_classifier",
    "train_island_stage",
    "add_islands",
    "ModelEvaluation",
    "evaluate_models",
    "held_out_fields",
    "sweep_points",
    "BenchmarkCell",
    "run_benchmark",
    "benchmark_table",
    "breakdown_table",
    "worst_cell",
]
