"""The shift benchmark's harness (``--quick``): every cell runs and is reported.

The figures themselves are the benchmark's business, not the tests': here a
quick run checks that every cell is made, scored by the rules, and written.
"""

import math

import numpy as np
import pytest
from astropy.table import QTable

from diffuseradio.cli import main
from diffuseradio.training import BenchmarkCell, benchmark_table, breakdown_table, worst_cell
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


def test_completeness_per_kind_and_size_adds_up_to_the_cell():
    from diffuseradio.training.benchmark.cells import Tally

    tally = Tally()
    for kind, beams, found in [
        ("halo", 150.0, True),
        ("halo", 8.0, False),
        ("relic", 8.0, True),
        ("relic", 10.0, True),  # a bin's lower edge belongs to it
        ("relic", 1000.0, False),
    ]:
        tally.add(kind, beams, found)
    assert (tally.found, tally.total) == (3, 5)
    assert tally.by_kind == {"halo": (1, 2), "relic": (2, 3)}
    assert tally.by_size == {"0-10": (1, 2), "10-30": (1, 1), "100-300": (1, 1), ">300": (0, 1)}
    one = BenchmarkCell(
        "a",
        "test",
        5,
        tally.completeness,
        1.0,
        np.nan,
        0.0,
        3,
        0.0,
        by_kind=tally.by_kind,
        by_size=tally.by_size,
    )
    table = benchmark_table([one, cell("b", 0.5, 0.5)])
    row = table[list(table["cell"]).index("a")]
    assert row["completeness_relic"] == pytest.approx(2 / 3) and row["sources_relic"] == 3
    assert row["completeness_beams_over_300"] == 0.0 and row["sources_beams_30_100"] == 0
    assert math.isnan(row["completeness_minihalo"])
    text = breakdown_table([one, cell("b", 0.5, 0.5)])
    assert list(text["cell"]) == ["b", "a"]
    assert list(text[1][["halo", "relic", "0-10 beams", ">300 beams"]]) == [
        "1/2",
        "2/3",
        "1/2",
        "0/1",
    ]
    assert "minihalo" not in text.colnames and "30-100 beams" not in text.colnames
    assert list(text[0][["halo", "0-10 beams"]]) == ["--", "--"]  # b holds no sources


def test_quick_benchmark_from_the_command_line(tmp_path, capsys, real_data_folder):
    output = tmp_path / "benchmark.ecsv"
    real = [] if real_data_folder is None else ["--real-data", str(real_data_folder)]
    status = main(
        ["benchmark", "--quick", "--no-progress", "--device", "cpu", "-o", str(output), *real]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "worst cell:" in printed and "by kind and by size" in printed
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
    kinds = [c for c in table.colnames if c.startswith("sources_") and "beams" not in c]
    sizes = [c for c in table.colnames if c.startswith("sources_beams_")]
    for row in table:  # every source counted is in one kind and, where sizes are known, one size
        assert sum(row[c] for c in kinds) == row["sources"] or row["kind"] == "real non-sources"
        assert sum(row[c] for c in sizes) in (0, row["sources"])
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


def test_a_beam_outside_the_cards_range_is_refused_not_scored():
    import dataclasses

    import astropy.units as u

    from diffuseradio import DiffuseDetector
    from diffuseradio.training.benchmark import _Scale
    from diffuseradio.training.benchmark.simulated import simulated_cell

    detector = DiffuseDetector.from_pretrained(device="cpu")
    detector.card = dataclasses.replace(detector.card, accepted_beam_range=[4, 24] * u.arcsec)
    name = "45-arcsec beam (as NVSS)"
    refused = simulated_cell(detector, name, SHIFTS[name], _Scale(True), False)
    assert refused.note.startswith("refused: the image's beam (45 arcsec) is outside the 4-24")
    assert "not trained on beams coarser than 24 arcsec" in refused.note
    assert refused.sources == 0 and math.isnan(refused.score)
