"""Run the bundled model on the real images of ../shared/data/real (docs figures).

Writes one PNG per image and model into docs/_static/ (image, probability
contours, detection outlines) and prints, per image and model, what was found:
the table quoted on the "Model zoo" page. With ``--write-cards`` the same
results go into each bundled model's card, as ``metrics["real_images"]``.
``--models`` takes other registered models or card paths too (without
``--write-cards``: only bundled cards are written).

Usage::

    python docs/plots/plot_real_images.py [--models lotss-diffuse-unet] [--write-cards]
"""

import argparse
import dataclasses
import warnings
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

from diffuseradio import (  # noqa: E402
    DiffuseDetector,
    IncompatibleResolutionError,
    SurveyMosaic,
)
from diffuseradio.examples import example_field_path  # noqa: E402
from diffuseradio.models import ModelCard  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real"
STATIC = ROOT / "docs" / "_static"
BUNDLED = ROOT / "diffuseradio" / "models" / "data"

#: (label, folder, file, beam if the header has none, what is there)
IMAGES = [
    ("A2744 (VLA 1.5 GHz)", "vla_A2744_halo", "A2744_JVLA.image.fits", None, "halo + relic"),
    (
        'RXC J1825 (LOFAR 144 MHz, 60")',
        "lofar_RXCJ1825_halo",
        "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
        None,
        "giant halo",
    ),
    (
        "El Gordo (MeerKAT, blanked)",
        "meerkat_ElGordo_diffuse",
        "ElGordo_hres_sync_blanked.fits",
        None,
        "halo + relics",
    ),
    (
        "LoTSS-DR1 P205+55",
        "lotss_dr1_P205+55_field",
        "LoTSS_DR1_P205+55_cutout_600px.fits",
        None,
        "field: nothing diffuse known",
    ),
    (
        "LoTSS-DR1 P218+55",
        "lotss_dr1_P218+55_field",
        "LoTSS_DR1_P218+55_cutout_200px.fits",
        None,
        "field: nothing diffuse known",
    ),
    (
        "B1315+415 (LoTSS-DR2)",
        "lotss_dr2_B1315+415_radiogalaxy",
        "LoTSS_DR2_B1315+415_P198+42_cutout.fits",
        None,
        "radio galaxy (confuser)",
    ),
    (
        "RGZ J124646 (FIRST)",
        "first_rgz_J124646+224554",
        "FIRSTJ124646.7+224554.fits",
        None,
        "radio galaxy (confuser)",
    ),
    (
        "Fornax A (VLA 1.5 GHz)",
        "vla_fornaxA_1p5GHz",
        "NGC_1316_I_20cm_fev1989_i.fits",
        None,
        "radio-galaxy lobes (confuser)",
    ),
    (
        "Fornax A (MWA 185 MHz)",
        "mwa_fornaxA_185MHz",
        "cropped_FornaxA_real_phase1+2.fits",
        None,
        "radio-galaxy lobes (confuser)",
    ),
]


def run(detector, label, mosaic, note, slug):
    """Detect on one image, save its figure, print its row; returns the card's record."""
    name = detector.card.name
    record = {"image": label, "known": note}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty catalogues warn
        try:
            catalog = detector.detect(mosaic)
        except IncompatibleResolutionError:
            print(f"| {label} | {note} | {name} | refused: beam too coarse for it | | | |")
            return {**record, "refused": "beam outside the model's accepted range"}
        table = catalog.table
    ax = catalog.plot()
    ax.set_title(f"{label}\n{name}: {len(table)} detections", fontsize=9)
    path = STATIC / f"real_{slug}_{name.removeprefix('lotss-diffuse-')}.png"
    ax.figure.savefig(path, dpi=70, bbox_inches="tight")
    plt.close(ax.figure)
    record.update(
        detections=len(table),
        flux_density_mjy=[round(float(s.to_value(u.mJy)), 1) for s in table["flux_density"]],
        largest_angular_size_arcmin=[
            round(float(s.to_value(u.arcmin)), 2) for s in table["largest_angular_size"]
        ],
        peak_probability=[round(float(p), 3) for p in table["peak_probability"]],
    )
    flux = ", ".join(f"{s:.1f}" for s in record["flux_density_mjy"][:4])
    size = ", ".join(f"{s:.1f}" for s in record["largest_angular_size_arcmin"][:4])
    peak = ", ".join(f"{p:.2f}" for p in record["peak_probability"][:4])
    print(
        f"| {label} | {note} | {name} | {len(table)} | {flux} | {size} | {peak} |",
        flush=True,
    )
    return record


def write_card(card, records):
    """Store the records in the bundled card of ``card`` (weights untouched)."""
    path = BUNDLED / f"{card.name}-{card.version}.json"
    bundled = ModelCard.read(path)
    metrics = {**bundled.metrics, "real_images": records}
    dataclasses.replace(bundled, metrics=metrics).write(path)
    print(f"wrote the real-image results into {path.name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lotss-diffuse-unet"])
    parser.add_argument(
        "--write-cards",
        action="store_true",
        help='store the results in the bundled cards (metrics["real_images"])',
    )
    args = parser.parse_args()
    print("| image | known | model | detections | flux density [mJy] | LAS [arcmin] | peak p |")
    for name in args.models:
        detector = DiffuseDetector.from_pretrained(name, device="cpu")
        mosaic = SurveyMosaic.read(example_field_path())
        records = [
            run(detector, "example field (simulated)", mosaic, "halos, relics, RGs", "example")
        ]
        for label, folder, filename, beam, note in IMAGES:
            path = REAL / folder / filename
            if not path.exists():
                continue
            mosaic = SurveyMosaic.read(path, beam=beam)
            records.append(run(detector, label, mosaic, note, folder))
        if args.write_cards:
            write_card(detector.card, records)


if __name__ == "__main__":
    main()
