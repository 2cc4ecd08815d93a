"""Training: datasets, losses, metrics, the trainer, checkpoints, DDP, export."""

import socket

import astropy.units as u
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from diffuseradio import DiffuseDetector
from diffuseradio.exceptions import ModelError
from diffuseradio.preprocess.inputs import stack_channels
from diffuseradio.simulate import SkySimulator, write_field
from diffuseradio.training import (
    OPERATING_THRESHOLDS,
    SIZE_BINS,
    SNR_BINS,
    FitsPairTiles,
    ObjectCounts,
    SimulatedTiles,
    Trainer,
    TrainingConfig,
    binomial_interval,
    export_model,
    object_counts,
    object_coverage,
    object_f1,
    operating_point,
    pixel_counts,
    pixel_scores,
    pixel_weights,
    segmentation_loss,
    simulated_field,
)
from diffuseradio.training.datasets import MAX_OBJECT_WEIGHT
from diffuseradio.training.losses import cross_entropy
from diffuseradio.training.trainer import MONITORS

TINY = {
    "model": {
        "name": "tiny",
        "version": "0.0.1",
        "args": {"depth": 2, "base_width": 4, "norm": "group"},
    },
    "grid": {"tile_size": 64, "tile_overlap": 16},
    "data": {"field_size": 128, "tiles_per_field": 4, "validation_fields": 2, "seed": 5},
    "training": {
        "batch_size": 4,
        "steps_per_epoch": 3,
        "epochs": 2,
        "num_workers": 0,
        "warmup_steps": 1,
        "learning_rate": 5e-3,
        "patience": 10,
    },
}


def tiny_config(**changes):
    values = {section: dict(settings) for section, settings in TINY.items()}
    for key, value in changes.items():
        section, name = key.split("__")
        values[section][name] = value
    return TrainingConfig.from_dict(values)


def weights(trainer):
    return {k: v.clone() for k, v in trainer.network.state_dict().items()}


def test_config_from_toml(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('[training]\nepochs = 3\n[model]\nclasses = ["background", "halo", "relic"]\n')
    config = TrainingConfig.read(path)
    assert config.training.epochs == 3
    assert config.num_outputs == 3
    path.write_text("[training]\nepoch = 3\n")
    with pytest.raises(ValueError, match="unknown keys in \\[training\\]"):
        TrainingConfig.read(path)


def test_simulated_tiles_are_deterministic_and_augmented():
    config = tiny_config()
    dataset = SimulatedTiles(config)
    image, labels, weights = dataset[5]
    assert image.shape == (1, 64, 64) and image.dtype == torch.float32
    assert labels.shape == (64, 64) and labels.dtype == torch.int64
    assert torch.equal(weights, torch.ones(64, 64))  # no weighting configured
    again, _, _ = SimulatedTiles(config)[5]
    assert torch.equal(image, again)
    other, _, _ = dataset[6]  # same field, another crop/rotation
    assert not torch.equal(image, other)


def test_batches_mix_fields_when_asked():
    config = tiny_config(data__fields_per_batch=4, data__blank_probability=0.0)
    dataset = SimulatedTiles(config)
    assert [dataset.field_index(i) for i in range(18)] == [0, 1, 2, 3] * 4 + [4, 5]
    plain = SimulatedTiles(tiny_config())
    assert [plain.field_index(i) for i in range(9)] == [0, 0, 0, 0, 1, 1, 1, 1, 2]
    images = [simulated_field(config, config.data.seed, index)[1] for index in range(4)]
    for item in range(8):
        tile = dataset[item][0].numpy()
        owners = [np.isin(tile, image).all() for image in images]
        assert owners == [index == item % 4 for index in range(4)], item
    with pytest.raises(ValueError, match="fields_per_batch must be >= 1"):
        SimulatedTiles(tiny_config(data__fields_per_batch=0))


def test_fits_pairs_dataset(tmp_path):
    simulator = SkySimulator(96, 6 * u.arcsec, 20 * u.arcsec, 100 * u.uJy / u.beam, seed=2)
    stem = tmp_path / "field"
    write_field(simulator.field(0), stem)
    pairs = [(f"{stem}.image.fits", f"{stem}.truth.fits")]
    dataset = FitsPairTiles(tiny_config(), pairs)
    assert len(dataset) == 4  # 96 px in 64 px tiles with 16 px overlap: 2 x 2
    image, labels, _ = dataset[0]
    assert image.shape == (1, 64, 64)
    assert set(np.unique(labels.numpy())) <= {0, 1}


def test_losses_prefer_the_truth():
    labels = torch.zeros(2, 16, 16, dtype=torch.int64)
    labels[:, 4:10, 4:10] = 1
    good = (labels.float() * 2 - 1).unsqueeze(1) * 5
    bad = -good
    for name in ("bce_dice", "focal_dice", "tversky", "bce"):
        loss = segmentation_loss(name)
        assert loss(good, labels) < 0.1 < loss(bad, labels)
    multi = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float() * 10
    assert segmentation_loss("bce_dice")(multi, labels) < 0.1
    with pytest.raises(ValueError, match="unknown loss"):
        segmentation_loss("l2")


def test_weighted_cross_entropy_is_the_weighted_pixel_mean():
    logits = torch.randn(2, 1, 8, 8)
    labels = (torch.rand(2, 8, 8) > 0.7).long()
    per_pixel = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[:, 0], labels.float(), reduction="none"
    )
    weights = torch.rand(2, 8, 8) + 0.5
    expected = (per_pixel * weights).sum() / weights.sum()
    torch.testing.assert_close(cross_entropy(logits, labels, weights), expected)
    torch.testing.assert_close(cross_entropy(logits, labels, torch.ones(2, 8, 8)), per_pixel.mean())
    multi = torch.randn(2, 3, 8, 8)
    per_pixel = torch.nn.functional.cross_entropy(multi, labels, reduction="none")
    torch.testing.assert_close(
        cross_entropy(multi, labels, weights), (per_pixel * weights).sum() / weights.sum()
    )


def test_pixel_weights_favour_confusers_and_small_objects():
    labels = np.zeros((60, 60), np.int64)
    labels[5:25, 5:25] = 1  # 400 px = 20 beams of 20 px
    labels[40:44, 40:45] = 1  # 20 px = 1 beam
    confusers = np.zeros((60, 60), bool)
    confusers[30:35, 0:10] = True
    confusers[20:30, 20:30] = True  # partly on the large object: that part stays diffuse
    weights = pixel_weights(
        labels, 20.0, confusers=confusers, confuser_weight=3.0, balance_area_beams=20.0
    )
    assert weights[0, 59] == 1.0
    assert np.all(weights[30:35, 0:10] == 3.0)
    assert np.all(weights[5:25, 5:25] == 1.0)  # 20 beams: no boost
    assert np.all(weights[40:44, 40:45] == pytest.approx(np.sqrt(20.0)))
    tiny = np.zeros((60, 60), np.int64)
    tiny[0, 0] = 1  # 1/20 beam: sqrt(400) = 20, capped
    assert pixel_weights(tiny, 20.0, balance_area_beams=20.0)[0, 0] == MAX_OBJECT_WEIGHT
    assert np.all(pixel_weights(labels, 20.0) == 1.0)


def test_configured_weights_reach_the_simulated_tiles():
    crowded = {"radio_galaxy_density": 2000.0, "minihalo_density": 300.0}
    config = tiny_config(
        data__population=crowded,
        training__confuser_weight=4.0,
        training__balance_area_beams=50.0,
    )
    image, labels, weights = SimulatedTiles(config)[1]
    plain_image, _, plain = SimulatedTiles(tiny_config(data__population=crowded))[1]
    assert torch.equal(image, plain_image)
    assert torch.equal(plain, torch.ones_like(plain))
    assert (weights[labels == 0] == 4.0).any()
    assert (weights[labels > 0] > 1.0).any() and (weights[labels > 0] >= 1.0).all()


def crowded_field(**densities):
    """One 256-pixel field at 20"/6" (seed 3) with the given source densities (per deg^2)."""
    densities = {name: value / u.deg**2 for name, value in densities.items()}
    simulator = SkySimulator(
        256, 6 * u.arcsec, 20 * u.arcsec, 100 * u.uJy / u.beam, seed=3, **densities
    )
    return simulator.field(0)


def test_pixel_and_object_metrics():
    field = crowded_field(radio_galaxy_density=100, halo_density=30)
    truth = field.truth > 0
    scores = pixel_scores(pixel_counts(truth, truth))
    assert scores["iou"] == scores["dice"] == scores["precision"] == scores["recall"] == 1.0
    # A perfect segmentation: every detectable diffuse object found, all detections true.
    perfect = object_counts(truth.astype(np.int32), field)
    assert perfect.completeness() == 1.0
    assert perfect.purity == 1.0
    # Detections exactly on the radio galaxies: all taken for diffuse, none true.
    galaxies = np.isin(field.instances, field.objects["id"][field.objects["class_id"] == 0])
    wrong = object_counts((galaxies & ~truth).astype(np.int32), field)
    assert wrong.radio_galaxies > 0
    assert wrong.radio_galaxy_false_positive_rate == 1.0
    assert wrong.purity == 0.0
    total = perfect + wrong
    assert total.detections == perfect.detections + wrong.detections


def test_object_coverage_is_the_detected_fraction_of_each_region():
    field = crowded_field(radio_galaxy_density=100, halo_density=30)
    objects = field.objects
    diffuse = np.asarray(objects["class_id"] > 0)
    first = int(objects["id"][np.flatnonzero(diffuse)[0]])
    region = np.flatnonzero(field.instances.ravel() == first)
    # Detect exactly the first quarter of the first diffuse object's pixels.
    detections = np.zeros(field.truth.size, np.int32)
    detections[region[: region.size // 4]] = 1
    coverage = object_coverage(detections.reshape(field.truth.shape), field)
    assert coverage.shape == (len(objects),)
    index = int(np.flatnonzero(np.asarray(objects["id"]) == first)[0])
    assert coverage[index] == pytest.approx((region.size // 4) / region.size)
    others = np.delete(coverage, index)
    assert np.all((others == 0) | np.isnan(others))
    # The radio galaxies' regions, detected whole.
    galaxies = np.isin(field.instances, objects["id"][~diffuse]) & (field.truth == 0)
    coverage = object_coverage(galaxies.astype(np.int32), field)
    assert np.all(coverage[~diffuse & ~np.isnan(coverage)] == 1.0)
    assert np.all(coverage[diffuse & ~np.isnan(coverage)] == 0.0)


def test_loss_falls_on_a_repeated_batch():
    torch.manual_seed(0)
    config = tiny_config(
        training__steps_per_epoch=30, training__epochs=1, training__learning_rate=2e-2
    )
    trainer = Trainer(config, output_dir="unused")
    images, labels, _ = zip(*[trainer.dataset[i] for i in range(4)])
    images, labels = torch.stack(images), torch.stack(labels)
    losses = [trainer.step(images, labels) for _ in range(30)]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_fit_writes_log_and_checkpoints_and_resumes_bit_for_bit(tmp_path, ema_decay):
    config = tiny_config(training__ema_decay=ema_decay)
    straight = Trainer(config, output_dir=tmp_path / "straight")
    history = straight.fit(progress=False)
    assert [record["epoch"] for record in history] == [1, 2]
    assert "val_completeness_snr_ge_8" in history[0]
    assert (tmp_path / "straight" / "metrics.csv").read_text().count("\n") == 3
    interrupted = Trainer(config, output_dir=tmp_path / "stopped")
    interrupted.train_epoch()
    interrupted.epoch = 1
    interrupted.save_checkpoint()
    resumed = Trainer.resume(tmp_path / "stopped" / "checkpoint.json")
    assert resumed.epoch == 1
    resumed.train_epoch()
    for name, value in weights(straight).items():
        assert torch.equal(value, weights(resumed)[name]), name
    averaged = straight.evaluated_network.state_dict()
    for name, value in resumed.evaluated_network.state_dict().items():
        assert torch.equal(value, averaged[name]), name


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path, monkeypatch, caplog):
    # A score that never improves after the first epoch.
    monkeypatch.setitem(MONITORS, "object_f1", lambda record: 0.0)
    config = tiny_config(training__epochs=10, training__patience=2, training__steps_per_epoch=1)
    with caplog.at_level("INFO", logger="diffuseradio.training.trainer"):
        history = Trainer(config, output_dir=tmp_path).fit(progress=False)
    assert [record["best"] for record in history] == [True, False, False]
    message = "early stopping after epoch 3: no better validation object_f1 for 2 epochs"
    assert message in caplog.text


def test_moving_average_of_the_weights_is_validated_and_kept_as_best(tmp_path):
    decay = 0.8
    trainer = Trainer(tiny_config(training__ema_decay=decay), output_dir=tmp_path)
    expected = None
    for step in range(4):
        images, labels, pixel = zip(*[trainer.dataset[4 * step + k] for k in range(4)])
        trainer.step(torch.stack(images), torch.stack(labels), torch.stack(pixel))
        current = {k: v.detach().clone() for k, v in trainer.network.named_parameters()}
        if expected is None:
            expected = current  # the average starts at the first step's weights
        else:
            expected = {k: decay * expected[k] + (1 - decay) * current[k] for k in current}
    averaged = dict(trainer.evaluated_network.named_parameters())
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name], value, rtol=1e-5, atol=1e-6)
    assert not torch.equal(averaged[name], dict(trainer.network.named_parameters())[name])
    fitted = Trainer(
        tiny_config(training__ema_decay=decay, training__epochs=1), output_dir=tmp_path
    )
    fitted.fit(progress=False)  # the first epoch is the best so far
    best = load_file(tmp_path / "best.safetensors")
    for name, value in fitted.evaluated_network.state_dict().items():
        assert torch.equal(best[name], value), name
    assert not torch.equal(best[name], fitted.network.state_dict()[name])
    with pytest.raises(ValueError, match="ema_decay must be in"):
        Trainer(tiny_config(training__ema_decay=1.5), output_dir=tmp_path)


def test_export_and_load_round_trip(tmp_path):
    config = tiny_config()
    trainer = Trainer(config, output_dir=tmp_path / "run")
    trainer.train_epoch()
    card_path = export_model(trainer.network, config, tmp_path / "model", metrics={"x": 1.0})
    detector = DiffuseDetector.from_pretrained(card_path, device="cpu", precision="fp32")
    assert detector.card.identifier == "tiny@0.0.1"
    assert detector.card.metrics == {"x": 1.0}
    assert detector.card.training["seed"] == 0
    image = torch.randn(1, 1, 64, 64)
    trainer.network.eval()
    with torch.no_grad():
        expected = trainer.network(image)
        got = detector.model(image.contiguous(memory_format=torch.channels_last))
    for name, value in trainer.network.state_dict().items():
        assert torch.equal(detector.model.state_dict()[name].contiguous(), value.contiguous())
    # Same weights; only the memory layout (channels_last) and kernels differ.
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)


def test_fine_tuning_starts_from_a_model_card_or_a_runs_weights(tmp_path):
    source = Trainer(tiny_config(), output_dir=tmp_path / "first")
    source.fit(progress=False)
    card_path = export_model(source.network, source.config, tmp_path / "model")
    exported = weights(source)
    from_card = Trainer(tiny_config(training__initial_weights=str(card_path)))
    best = tmp_path / "first" / "best.safetensors"
    from_run = Trainer(tiny_config(training__initial_weights=str(best)))
    fresh = Trainer(tiny_config())
    source.load_best()
    for name, value in weights(source).items():
        assert torch.equal(weights(from_run)[name], value), name
    for name, value in exported.items():
        assert torch.equal(weights(from_card)[name], value), name
    assert not all(torch.equal(weights(fresh)[k], v) for k, v in exported.items())
    wider = tiny_config(model__args={"depth": 2, "base_width": 8, "norm": "group"})
    wider.training.initial_weights = str(card_path)
    with pytest.raises(ModelError, match="do not match the network"):
        Trainer(wider)
    with pytest.raises(FileNotFoundError, match="do not exist"):
        Trainer(tiny_config(training__initial_weights=str(tmp_path / "missing.safetensors")))


def test_a_native_channel_is_added_to_trained_one_channel_weights(tmp_path):
    source = Trainer(tiny_config(), output_dir=tmp_path / "first")
    card_path = export_model(source.network, source.config, tmp_path / "model")
    two = Trainer(
        tiny_config(grid__native_beam_arcsec=6.0, training__initial_weights=str(card_path))
    )
    first = "encoder.stem.0.weight"
    assert two.network.state_dict()[first].shape[1] == 2
    assert torch.equal(
        two.network.state_dict()[first][:, 1],
        torch.zeros_like(source.network.state_dict()[first][:, 0]),
    )
    # It starts out computing what the one-channel network did, whatever the native channel.
    tapered = torch.randn(2, 1, 64, 64)
    native = torch.randn(2, 1, 64, 64)
    source.network.eval(), two.network.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            two.network(torch.cat([tapered, native], 1)), source.network(tapered)
        )


def test_simulated_fields_with_a_native_channel():
    config = tiny_config(grid__native_beam_arcsec=6.0, data__native_rms_ujy=[80.0, 80.0])
    field, image = simulated_field(config, 5, 0)
    assert image.shape == (2, 128, 128)
    assert field.native.shape == (512, 512) and field.native.beam.major == 6 * u.arcsec
    assert field.native.rms.to_value(u.uJy / u.beam) == pytest.approx(80, rel=0.1)
    # The tapered channel is the one a one-channel model gets from the same sky.
    plain_field, plain = simulated_field(tiny_config(), 5, 0)
    assert field.truth.sum() == plain_field.truth.sum()
    tile, labels, _ = SimulatedTiles(config)[0]
    assert tile.shape == (2, 64, 64) and labels.shape == (64, 64)
    with pytest.raises(ValueError, match="fits_pairs trains one-channel models only"):
        FitsPairTiles(config, [])


def test_tapered_channel_made_from_the_native_image_as_the_detector_does():
    config = tiny_config(grid__native_beam_arcsec=6.0, data__derived_tapered_fraction=1.0)
    field, image = simulated_field(config, 5, 0)
    tapered = field.native.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec)
    expected = stack_channels(tapered, field.native, native_beam=config.native_beam)
    np.testing.assert_array_equal(image, expected)
    # Validation fields keep the simulated tapered image (with its own noise).
    _, validation = simulated_field(config, 5, 0, validation=True)
    plain = tiny_config(grid__native_beam_arcsec=6.0)
    np.testing.assert_array_equal(validation, simulated_field(plain, 5, 0, validation=True)[1])


def test_best_epoch_is_chosen_by_the_object_f1_score(tmp_path):
    record = {"val_completeness_snr_ge_8": 0.9, "val_purity": 0.6, "val_dice": 0.2}
    assert MONITORS["object_f1"](record) == pytest.approx(2 * 0.9 * 0.6 / 1.5)
    assert MONITORS["object_f1"]({**record, "val_purity": float("nan")}) == 0.0
    assert MONITORS["dice"](record) == 0.2
    trainer = Trainer(tiny_config(), output_dir=tmp_path / "run")
    history = trainer.fit(progress=False)
    scores = [MONITORS["object_f1"](r) for r in history]
    assert trainer.best_score == max(scores)
    assert [r["best"] for r in history][0] is True
    with pytest.raises(ValueError, match="unknown monitor 'loss'"):
        Trainer(tiny_config(training__monitor="loss"))


def counts_at(found, detections, true, rg_as_diffuse):
    """ObjectCounts of 10 bright (S/N 15-30) halos and 10 radio galaxies."""
    key = ("halo", SNR_BINS.index(15.0), 2, SNR_BINS.index(15.0))
    return ObjectCounts(
        found={key: found},
        total={key: 10},
        detections=detections,
        true_detections=true,
        radio_galaxies=10,
        radio_galaxies_as_diffuse=rg_as_diffuse,
    )


def test_operating_point_is_the_best_f1_within_the_radio_galaxy_budget():
    counts = {
        0.5: counts_at(9, 20, 10, 3),  # F1 0.64, 30 % of the radio galaxies
        0.7: counts_at(6, 10, 8, 1),  # F1 0.69, 10 %
        0.9: counts_at(3, 3, 3, 0),  # F1 0.46, none
    }
    threshold, point = operating_point(counts)
    assert threshold == 0.7
    assert point == pytest.approx(
        {
            "completeness_snr_ge_8": 0.6,
            "purity": 0.8,
            "radio_galaxy_false_positive_rate": 0.1,
            "f1": 2 * 0.6 * 0.8 / 1.4,
        }
    )
    assert operating_point(counts, 0.05)[0] == 0.9
    assert operating_point(counts, 0.5)[0] == 0.7
    assert operating_point({t: counts[t] for t in (0.5, 0.9)}, 0.5)[0] == 0.5
    nothing, point = operating_point(counts, -1.0)
    assert nothing is None and point["f1"] == 0.0 and np.isnan(point["purity"])
    # the most complete at a purity floor: 0.5 is too impure, 0.7 the most complete left
    assert operating_point(counts, 0.5, min_purity=0.6)[0] == 0.7
    assert operating_point(counts, 0.5, min_purity=0.4)[0] == 0.5
    assert operating_point(counts, 0.5, min_purity=0.9)[0] == 0.9
    assert operating_point(counts, 0.05, min_purity=0.6)[0] == 0.9
    assert operating_point(counts, 0.5, min_purity=1.01)[0] is None
    assert object_f1(0.6, 0.8) == pytest.approx(0.96 / 1.4)
    assert object_f1(float("nan"), 0.8) == 0.0


def test_validation_reports_the_operating_point_and_can_select_by_it(tmp_path):
    config = tiny_config(training__monitor="operating_f1", training__epochs=1)
    trainer = Trainer(config, output_dir=tmp_path)
    record = trainer.fit(progress=False)[0]
    for name in ("threshold", "f1", "completeness_snr_ge_8", "purity"):
        assert f"val_operating_{name}" in record
    chosen = record["val_operating_threshold"]
    assert np.isnan(chosen) or chosen in OPERATING_THRESHOLDS
    assert trainer.best_score == record["val_operating_f1"]
    assert record["val_operating_f1"] >= 0.0


def test_validation_fields_can_come_from_another_population():
    config = tiny_config(
        data__field_size=256,
        data__population={"minihalo_density": 400.0},
        data__validation_population={},
    )

    def minihalos(validation):
        field, _ = simulated_field(config, 3, 0, validation=validation)
        return int(np.sum(field.objects["kind"] == "minihalo"))

    assert minihalos(validation=False) >= 10
    assert minihalos(validation=True) <= 3
    same = tiny_config(data__population={"minihalo_density": 400.0})
    assert same.data.validation_settings == {"minihalo_density": 400.0}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank, world, port, directory, queue):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        trainer = Trainer(
            tiny_config(training__loss="bce", training__epochs=1, training__precision="fp32"),
            output_dir=directory,
        )
        trainer.train_epoch()
        if rank == 0:
            queue.put({k: v.numpy() for k, v in trainer.network.state_dict().items()})
    finally:
        dist.destroy_process_group()


def test_ddp_two_gloo_processes_match_one_process(tmp_path):
    config = tiny_config(training__loss="bce", training__epochs=1, training__precision="fp32")
    single = Trainer(config, output_dir=tmp_path)
    single.train_epoch()
    context = torch.multiprocessing.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    processes = [
        context.Process(target=_ddp_worker, args=(rank, 2, port, str(tmp_path / "ddp"), queue))
        for rank in range(2)
    ]
    for process in processes:
        process.start()
    distributed = queue.get(timeout=120)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    # Adam's normalised steps turn the all-reduce's different summation order into
    # differences of ~1e-5 on weights with tiny gradients; a wrong split of the data
    # would differ by a whole step (the learning rate, 5e-3)
    for name, value in single.network.state_dict().items():
        np.testing.assert_allclose(distributed[name], value.numpy(), rtol=1e-4, atol=1e-4)


def test_completeness_by_source_size():
    """Objects are binned by the area of their region in beams; a segmentation that
    finds only the large ones is complete in the large bins and empty in the small."""
    field = crowded_field(halo_density=60, minihalo_density=60)
    objects = field.objects[field.objects["detectable"] & (field.objects["class_id"] > 0)]
    objects = objects[np.isin(objects["id"], field.instances)]  # not hidden by brighter ones
    size_bins = np.searchsorted(SIZE_BINS, objects["n_beams"], side="right") - 1
    assert len(set(size_bins)) >= 2
    cut = np.sort(objects["n_beams"])[len(objects) // 2]
    large = objects["id"][objects["n_beams"] >= cut]
    segmentation = np.isin(field.instances, large).astype(np.int32)
    counts = object_counts(segmentation, field)
    assert sum(counts.total.values()) == len(objects)
    for index in set(size_bins):
        in_bin = objects[size_bins == index]
        expected = np.mean(in_bin["n_beams"] >= cut)
        assert counts.completeness(size_bin=int(index)) == pytest.approx(expected)
    summary = counts.summary()
    labels = [f"completeness_snr_ge_8_beams_{a:g}_{b:g}" for a, b in zip(SIZE_BINS, SIZE_BINS[1:])]
    assert set(labels) <= set(summary)


def test_completeness_by_local_snr():
    """The local S/N bins count the sources the artefacts of bright sources hide: a
    segmentation that finds exactly the sources with local S/N >= 8 is complete by that
    S/N and incomplete by the thermal one."""
    field = crowded_field(halo_density=60, minihalo_density=60)
    objects = field.objects[field.objects["detectable"] & (field.objects["class_id"] > 0)]
    objects = objects[np.isin(objects["id"], field.instances)]
    hidden = (objects["integrated_snr"] >= 8) & (objects["local_snr"] < 8)
    assert hidden.any()
    found = objects["id"][objects["local_snr"] >= 8]
    counts = object_counts(np.isin(field.instances, found).astype(np.int32), field)
    assert counts.completeness(8.0, local=True) == 1.0
    bright = objects["integrated_snr"] >= 8
    assert counts.completeness(8.0) == pytest.approx(1 - hidden.sum() / bright.sum())
    summary = counts.summary()
    assert summary["completeness_local_snr_ge_8"] == 1.0
    assert summary["completeness_snr_ge_8"] < 1.0


def test_binomial_interval_is_the_wilson_interval():
    # Wilson (1927) at z = 1: (p + 1/2n -+ sqrt(p(1-p)/n + 1/4n^2)) / (1 + 1/n)
    k, n = 163, 185
    p = k / n
    half = np.sqrt(p * (1 - p) / n + 1 / (4 * n**2))
    expected = ((p + 1 / (2 * n) - half) / (1 + 1 / n), (p + 1 / (2 * n) + half) / (1 + 1 / n))
    assert binomial_interval(k, n, confidence=0.682689492) == pytest.approx(expected, rel=1e-6)
    low, high = binomial_interval(10, 10)  # all found: the interval ends at 1, not beyond
    assert high == pytest.approx(1.0) and 0.8 < low < 1.0
    assert np.isnan(binomial_interval(0, 0)).all()
    wider, narrower = binomial_interval(9, 10), binomial_interval(90, 100)
    assert wider[0] < narrower[0] < 0.9 < narrower[1] < wider[1]


def test_object_counts_headline_counts_and_intervals():
    counts = counts_at(9, 20, 10, 3) + counts_at(6, 10, 8, 1)
    assert counts.headline_counts()["completeness_snr_ge_8"] == (15, 20)
    assert counts.headline_counts()["purity"] == (18, 30)
    assert counts.headline_counts()["radio_galaxy_false_positive_rate"] == (4, 20)
    summary = counts.summary()
    assert (summary["n_found_snr_ge_8"], summary["n_snr_ge_8"]) == (15, 20)
    assert (summary["n_found_local_snr_ge_8"], summary["n_local_snr_ge_8"]) == (15, 20)
    assert (summary["n_true_detections"], summary["n_radio_galaxies_as_diffuse"]) == (18, 4)
    for name, (low, high) in counts.intervals().items():
        assert low < summary[name] < high
        assert (low, high) == binomial_interval(*counts.headline_counts()[name])


def test_fields_vary_beam_noise_and_population_as_configured():
    """Beams are drawn from every configured range, and each field reaches the
    network as the detector would bring it: coarse beams on proportionally coarser
    pixels, beams under the working beam convolved to it."""
    config = tiny_config(
        data__beam_jitter_arcsec=[[10.0, 12.0], [40.0, 60.0]],
        data__field_size=96,
        grid__accepted_beam_arcsec=[4.0, 60.0],
    )
    coarse = fine = 0
    for index in range(8):
        field, image = simulated_field(config, 0, index)
        beam, pixel = field.mosaic.beam, field.mosaic.pixel_scale.to_value(u.arcsec)
        assert image.shape == (1, 96, 96)
        if beam.major > 30 * u.arcsec:
            coarse += 1
            assert pixel == pytest.approx(6.0 * beam.major.to_value(u.arcsec) / 20.0)
        else:
            fine += 1
            assert beam.major.to_value(u.arcsec) == pytest.approx(20.0, rel=1e-3)
            assert beam.minor.to_value(u.arcsec) == pytest.approx(20.0, rel=1e-3)
            assert pixel == pytest.approx(6.0)
    assert coarse and fine

    def radio_galaxies(density):
        jittered = tiny_config(
            data__population_jitter={"radio_galaxy_density": [density, density]},
            data__field_size=256,
        )
        field, _ = simulated_field(jittered, 0, 0)
        return int(np.isin(field.objects["kind"], ["fri", "frii", "headtail", "remnant"]).sum())

    assert radio_galaxies(200.0) > 5 * max(radio_galaxies(2.0), 1)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("beam_jitter_arcsec", [[18.0, 24.0], [30.0]], "beam_jitter_arcsec must be"),
        ("beam_jitter_arcsec", [24.0, 18.0], "beam_jitter_arcsec must be"),
        ("rms_variation", [0.6, 0.1], "rms_variation must be"),
        ("population_jitter", {"artefact_snr": [100.0]}, "artefact_snr must be"),
    ],
)
def test_field_variation_ranges_are_checked(key, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{f"data__{key}": value})


def test_trained_beams_must_be_accepted_ones():
    """The default card accepts the default training beams and finer ones, no more."""
    assert tiny_config().grid.accepted_beam_arcsec == [4.0, 24.0]
    with pytest.raises(ValueError, match=r"beam_jitter_arcsec \(18-45 arcsec\) must lie inside"):
        tiny_config(data__beam_jitter_arcsec=[[18.0, 24.0], [30.0, 45.0]])
    wide = tiny_config(
        data__beam_jitter_arcsec=[[18.0, 24.0], [30.0, 45.0]], grid__accepted_beam_arcsec=[4, 45]
    )
    assert wide.data.beam_ranges[1] == [30.0, 45.0]
