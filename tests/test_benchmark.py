"""The shift benchmark's harness (``--quick``): every cell runs and is reported.

The figures themselves are the benchmark's business, not the tests': here a
quick run checks that every cell is made, scored by the rules, and written.
"""

import math

import numpy as np
import pytest
from astropy.table import QTable

from diffuseradio.cli import main
from diffuseradio.training import BenchmarkCell, benchmark_table, worst_cell
from diffuseradio.training.benchmark import REAL_BACKGROUNDS, SHIFTS


def cell(name, completeness, purity):
    return BenchmarkCell(name, "test", 1, completeness, purity, np.nan, 0.0, 1, 0.0)


def test_the_worst_cell_is_the_lowest_of_completeness_and_purity():
    cells = [cell("a", 0.9, 0.7), cell("b", 0.8, np.nan), cell("c", np.nan, np.nan)]
    assert [c.score for c in cells[:2]] == [0.7, 0.8]
    assert math.isnan(cells[2].score)
    assert worst_cell(cells).name == "a"
    table = benchmark_table(cells)
    assert list(table["cell"]) == ["a", "b", "c"]  # worst first, unscored last
    assert table.meta["worst_cell"] == "a" and table.meta["worst_score"] == 0.7


def test_quick_benchmark_from_the_command_line(tmp_path, capsys, real_data_folder):
    output = tmp_path / "benchmark.ecsv"
    real = [] if real_data_folder is None else ["--real-data", str(real_data_folder)]
    status = main(
        ["benchmark", "--quick", "--no-progress", "--device", "cpu", "-o", str(output), *real]
    )
    assert status == 0
    assert "worst cell:" in capsys.readouterr().out
    table = QTable.read(output)
    names = list(table["cell"])
    assert set(SHIFTS) <= set(names)
    for background in REAL_BACKGROUNDS:
        assert f"{background}: nothing injected" in names
    assert set(table["kind"]) == {
        "simulator shift",
        "real background",
        "real sources",
        "real non-sources",
    }
    shifts = table[table["kind"] == "simulator shift"]
    assert np.all(shifts["sources"] >= 0) and np.all(shifts["seconds"].value >= 0)
    scored = table[np.isfinite(table["score"])]
    assert table.meta["worst_score"] == pytest.approx(float(np.min(scored["score"])))
    if real_data_folder is None:
        real_cells = table[table["kind"] != "simulator shift"]
        assert all(note.startswith("skipped") for note in real_cells["note"])


def test_shifts_inside_the_training_ranges_are_named():
    """A shift is held out only beyond what training drew: the coarse-beam
    experiment's varied sky reaches four of the simulator shifts, 1.2's (1.5.0's
    network) none."""
    from pathlib import Path

    from diffuseradio.training import TrainingConfig
    from diffuseradio.training.benchmark.simulated import SHIFTS, trained_on

    root = Path(__file__).parent.parent
    shifts = {
        name: {k: v for k, v in changes.items() if k not in ("beam", "native")}
        for name, changes in SHIFTS.items()
    }
    old = TrainingConfig.read(root / "configs" / "lotss-diffuse-unet-1.2.toml")
    assert not any(trained_on(old, changes) for changes in shifts.values())
    varied = TrainingConfig.read(root / "research/configs/lotss-diffuse-unet-coarse-beams.toml")
    reached = {name: trained_on(varied, changes) for name, changes in shifts.items()}
    assert reached["strong noise gradients"] == ["rms_variation"]
    assert reached["relics thinner than the working beam"] == ["relic_width"]
    assert reached["radio galaxies twice as dense"] == ["radio_galaxy_density"]
    assert reached["bright sources with artefacts everywhere"] == ["artefact_snr"]
    assert reached["elliptical beam (axis ratio 1.6)"] == []
