"""Record a shift-benchmark table in a model card's ``metrics["shift_benchmark"]``.

``diffuseradio models`` shows the worst cell from there, and the zoo page
quotes the cells. The card's weights and their sha256 are not touched.

Usage::

    python research/record_benchmark.py CARD.json TABLE.ecsv --command "diffuseradio benchmark ..."
        [--fails "..."] [--augment off]
"""

import argparse
import json
import math
from datetime import date
from pathlib import Path

from astropy.table import QTable


def _number(value, digits=3):
    value = float(value)
    return None if not math.isfinite(value) else round(value, digits)


def _breakdown(row):
    """``found_by_kind`` and ``found_by_size``: ``{name: [found, counted]}`` where counted."""
    out = {}
    for key, prefix in (("found_by_kind", "sources_"), ("found_by_size", "sources_beams_")):
        counts = {}
        for column in row.colnames:
            if not column.startswith(prefix) or (key == "found_by_kind" and "beams" in column):
                continue
            counted = int(row[column])
            if counted:
                fraction = float(row["completeness_" + column[len("sources_") :]])
                counts[column[len(prefix) :]] = [round(fraction * counted), counted]
        if counts:
            out[key] = counts
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card", type=Path)
    parser.add_argument("table", type=Path)
    parser.add_argument("--command", required=True)
    parser.add_argument("--fails", default="")
    parser.add_argument("--augment", default="on", choices=["on", "off"])
    args = parser.parse_args()
    table = QTable.read(args.table)
    cells = {
        row["cell"]: {
            "completeness": _number(row["completeness"]),
            "purity": _number(row["purity"]),
            "false_per_deg2": _number(row["false_per_deg2"].value),
            "sources": int(row["sources"]),
            "detections": int(row["detections"]),
            **({"note": str(row["note"])} if str(row["note"]) else {}),
            **_breakdown(row),
        }
        for row in table
    }
    card = json.loads(args.card.read_text())
    card.setdefault("metrics", {})["shift_benchmark"] = {
        "command": args.command,
        "date": date.today().isoformat(),
        "test_time_augmentation": args.augment,
        "worst_cell": table.meta["worst_cell"],
        "worst_score": _number(table.meta["worst_score"]),
        "fails": args.fails,
        "cells": cells,
    }
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"{args.card}: worst cell {table.meta['worst_cell']} ({table.meta['worst_score']:.3f})")


if __name__ == "__main__":
    main()
