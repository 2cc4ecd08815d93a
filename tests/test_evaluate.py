"""Evaluating models on held-out simulated fields: evaluate_models and `diffuseradio evaluate`."""

import json

import pytest
import torch
from test_training import tiny_config

from diffuseradio import DiffuseDetector
from diffuseradio.cli import main
from diffuseradio.models import UNet
from diffuseradio.postprocess import segment
from diffuseradio.training import (
    ObjectCounts,
    evaluate_models,
    export_model,
    held_out_fields,
    object_counts,
    sweep_points,
)


@pytest.fixture(scope="module")
def card_path(tmp_path_factory):
    config = tiny_config()
    torch.manual_seed(3)
    network = UNet(in_channels=1, num_classes=1, **config.model.args)
    # Bias the output up so that an untrained network detects something to count.
    with torch.no_grad():
        list(network.parameters())[-1].fill_(1.0)
    return export_model(network, config, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def detector(card_path):
    return DiffuseDetector.from_pretrained(card_path, device="cpu", precision="fp32")


def test_counts_are_those_of_the_detections_on_each_field(detector):
    (evaluation,) = evaluate_models(
        [detector], seeds=[11, 12], fields=1, augment=False, progress=False
    )
    card = detector.card
    expected = ObjectCounts()
    fields = list(held_out_fields([card], [11, 12], [1, 1]))
    assert [(seed, index) for seed, index, _ in fields] == [(11, 0), (12, 0)]
    for _, _, field in fields:
        # Held-out fields are at the working beam, whatever the training jitter.
        assert field.mosaic.beam.major == card.beam.major
        probability = detector.predict(field.mosaic, augment=False)
        labels = segment(
            probability,
            card.threshold,
            min_area=card.min_area_beams * field.mosaic.beam_area_pixels,
            low_threshold=card.low_threshold,
        )
        expected += object_counts(labels, field)
    summary = evaluation.summary()
    assert summary["n_detections"] == expected.summary()["n_detections"] > 0
    assert summary["n_diffuse_objects"] == expected.summary()["n_diffuse_objects"] > 0
    assert summary["seeds"] == [11, 12] and summary["fields"] == [1, 1]
    low, high = summary["purity_interval"]
    assert low <= (summary["purity"] or 0) <= high
    json.dumps(summary)  # JSON-ready: no NaN


def test_sweep_counts_a_grid_of_operating_points(detector):
    points = sweep_points(detector.card, sweep=True)
    assert (0.5, 0.3, 4.0) in points and len(set(points)) == len(points)
    (evaluation,) = evaluate_models(
        [detector], seeds=[11], fields=1, augment=False, sweep=True, progress=False
    )
    table = evaluation.sweep_table()
    assert len(table) == len(points)
    assert set(table.colnames) >= {"threshold", "purity", "completeness_snr_ge_8"}


def test_bad_requests_are_refused(detector):
    with pytest.raises(ValueError, match="one per seed"):
        evaluate_models([detector], seeds=[1, 2], fields=[1, 2, 3], progress=False)


def test_command_line(card_path, tmp_path, capsys):
    status = main(
        ["evaluate", str(card_path), "--seed", "11", "--fields", "1",
         "--no-progress", "--device", "cpu", "-o", str(tmp_path)]
    )  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "completeness_snr_ge_8" in out and "68 % interval" in out
    summary = json.loads((tmp_path / "tiny-0.0.1.json").read_text())
    assert summary["model"] == "tiny@0.0.1"
