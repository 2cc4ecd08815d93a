"""Record the default model's outputs that tests/test_reference_outputs.py compares against.

Run only when the detector's behaviour changes on purpose (say why in the
commit): for each image, the label map, the probability map (rounded to
0.001, 65535 where blanked) and the catalogue, from ``detect`` with
test-time augmentation on 2 PyTorch threads, as the test runs it.

Usage::

    python scripts/record_reference_outputs.py --real-data ../shared/data/real
"""

import argparse
import copy
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from diffuseradio import DiffuseDetector, SurveyMosaic
from diffuseradio.examples import example_field_path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
from test_reference_outputs import IMAGES, REFERENCE, WIDENED  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-data", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    detector = DiffuseDetector.from_pretrained(device="cpu")
    for name, where in IMAGES.items():
        path = example_field_path() if where is None else args.real_data.joinpath(*where)
        run = detector
        if name in WIDENED:
            run = copy.copy(detector)
            run.card = dataclasses.replace(detector.card, accepted_beam_range=WIDENED[name])
        catalog = run.detect(SurveyMosaic.read(path), augment=True)
        probability = np.asarray(catalog.probability)
        milli = np.where(np.isnan(probability), 65535, np.round(probability * 1000))
        np.savez_compressed(
            REFERENCE / f"{name}.npz",
            mask=catalog.segmentation.astype(np.int32),
            probability_milli=milli.astype(np.uint16),
        )
        catalog.table.write(REFERENCE / f"{name}.catalog.ecsv", overwrite=True)
        print(f"{name}: {len(catalog.table)} detections", flush=True)


if __name__ == "__main__":
    main()
