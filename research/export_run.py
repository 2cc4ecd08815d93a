"""Export the best epoch of a training run as a bundled registry model.

Loads ``RUN/best.safetensors`` (with ``--last``: the weights of the last
epoch in ``RUN/checkpoint.safetensors``, their moving average when the run
kept one) into the network of ``RUN/checkpoint.json``'s configuration and
writes weights + model card with
:func:`diffuseradio.training.export_model`, recording the training command,
the validation metrics of that epoch,
and (optionally) test-set metrics from ``research/evaluate_model.py`` and a
chosen operating point (seed and growth thresholds, smallest area).

Usage::

    python research/export_run.py RUN OUTDIR [--last] [--threshold P] [--low-threshold P]
        [--min-area-beams A] [--test-metrics FILE.json]
        [--command "diffuseradio train ..."] [--notes "..."]
"""

import argparse
import json
from pathlib import Path

from safetensors.torch import load_file

from diffuseradio.models import build_network
from diffuseradio.training import TrainingConfig, export_model, model_card


def last_weights(checkpoint):
    """The network weights of a checkpoint: the moving average when there is one."""
    tensors = load_file(checkpoint)
    prefix = "ema.module." if any(k.startswith("ema.module.") for k in tensors) else "model."
    return {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--last", action="store_true", help="the last epoch, not the best")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--low-threshold", type=float, default=None)
    parser.add_argument("--min-area-beams", type=float, default=None)
    parser.add_argument("--test-metrics", type=Path, default=None)
    parser.add_argument("--command", default=None)
    parser.add_argument("--notes", default="")
    args = parser.parse_args()
    state = json.loads((args.run / "checkpoint.json").read_text())
    config = TrainingConfig.from_dict(state["config"])
    if args.threshold is not None:
        config.training.threshold = args.threshold
    if args.low_threshold is not None:
        config.training.low_threshold = args.low_threshold
    if args.min_area_beams is not None:
        config.training.min_area_beams = args.min_area_beams
    network = build_network(model_card(config))
    if args.last:
        network.load_state_dict(last_weights(args.run / "checkpoint.safetensors"))
        chosen = state["history"][-1]
    else:
        network.load_state_dict(load_file(args.run / "best.safetensors"))
        chosen = [record for record in state["history"] if record.get("best")][-1]
    metrics = {f"validation_{k}": v for k, v in chosen.items() if k != "best"}
    if args.test_metrics:
        metrics.update(
            {f"test_{k}": v for k, v in json.loads(args.test_metrics.read_text()).items()}
        )
    if args.notes:
        metrics["notes"] = args.notes
    command = args.command or state.get("command") or ""
    card = export_model(network, config, args.outdir, metrics=metrics, command=command)
    print(card)


if __name__ == "__main__":
    main()
