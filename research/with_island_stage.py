"""Give an exported segmentation network the island stage of another model.

The island classifier of a bundled model (1.5.0's) scores islands cut from the
network *input*, not from the network's output, so it serves any segmentation
network on the same working grid and normalisation. This writes a model whose
network is the exported one and whose island stage, island settings and
operating point (threshold, low threshold, smallest area) are those of the
island model, as the card's ``training['islands']`` records.

Usage::

    python research/with_island_stage.py EXPORTED_CARD ISLAND_MODEL VERSION OUTDIR
        [--command "..."]

e.g. ``python research/with_island_stage.py runs/unet-1.6-export/lotss-diffuse-unet-1.6.0.json
lotss-diffuse-unet@1.5.0 1.6.0 diffuseradio/models/data``.
"""

import argparse
import dataclasses
from pathlib import Path

from diffuseradio.models import load_model, save_model
from diffuseradio.training.island_classifier import add_islands


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network", help="card of the exported segmentation network")
    parser.add_argument("islands", help="model whose island stage is taken (name@version)")
    parser.add_argument("version")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--command", default="")
    args = parser.parse_args()
    network = load_model(args.network, device="cpu", precision="fp32", progress=False)
    donor = load_model(args.islands, device="cpu", precision="fp32", progress=False)
    card = dataclasses.replace(
        network.card,
        islands=donor.card.islands,
        threshold=donor.card.threshold,
        low_threshold=donor.card.low_threshold,
        min_area_beams=donor.card.min_area_beams,
    )
    islands = dict(donor.card.training["islands"])
    islands["taken_from"] = donor.card.identifier
    if args.command:
        islands["composed_by"] = args.command
    model, card = add_islands(
        network.model, card, donor.model.island_classifier, version=args.version, training=islands
    )
    print(save_model(model, card, args.outdir))


if __name__ == "__main__":
    main()
