"""Render the figures of docs/clusters.rst into docs/_static/.

Needs the trained default model and the real images of ../shared/data/real.
Run from the repository root (not part of the tests)::

    OMP_NUM_THREADS=1 python docs/plots/plot_clusters.py

``--model`` picks another model (a registry name or a card path) and
``--output`` another folder. Writes ``clusters_gallery.png`` (the gallery
images of PSZ2 G008.94-81.22 = Abell 2744 on the VLA image and PSZ2
G058.29+18.55 = RXC J1825.3+3026 on the LOFAR image) and ``clusters_roc.png``
(ROC curve of a simulated survey with halos injected in half the clusters),
and prints the cluster rows and the validation numbers quoted in the
tutorial.
"""

import argparse
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.coordinates import SkyCoord  # noqa: E402
from astropy.table import Table  # noqa: E402
from PIL import Image  # noqa: E402

from diffuseradio import DiffuseDetector  # noqa: E402
from diffuseradio.clusters import classify_clusters, plot_roc, radio_power, validate_scores  # noqa: E402
from diffuseradio.simulate import RadioHalo, SkySimulator, inject  # noqa: E402

STATIC = Path(__file__).resolve().parents[1] / "_static"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
IMAGES = [
    REAL / "vla_A2744_halo" / "A2744_JVLA.image.fits",
    REAL
    / "lofar_RXCJ1825_halo"
    / "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
]
TARGETS = ["PSZ2 G008.94-81.22", "PSZ2 G058.29+18.55"]
RMS = 100e-6  # Jy/beam of the simulated 20" survey


def real_gallery(detector, output):
    """Classify the two PSZ2 clusters and put their gallery images side by side."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        psz2 = Table.read(REAL / "catalogues" / "HFI_PCCS_SZ-union_R2.08.fits")
    subset = psz2[np.isin(np.asarray(psz2["NAME"], dtype=str), TARGETS)]
    with tempfile.TemporaryDirectory() as outdir:
        clusters = classify_clusters(detector, subset, IMAGES, outdir=outdir, progress=False)
        clusters["name", "redshift", "score", "n_detections", "flux_density",
                 "largest_linear_size", "radio_power", "flags"].pprint_all()  # fmt: skip
        panels = [Image.open(Path(outdir) / "clusters" / f"{key}.png").convert("RGB")
                  for key in ("PSZ2_G008.94-81.22", "PSZ2_G058.29+18.55")]  # fmt: skip
    height = min(p.height for p in panels)
    panels = [p.resize((round(p.width * height / p.height), height)) for p in panels]
    canvas = Image.new("RGB", (sum(p.width for p in panels), height), "white")
    left = 0
    for panel in panels:
        canvas.paste(panel, (left, 0))
        left += panel.width
    canvas.quantize(128).save(output / "clusters_gallery.png", optimize=True)


def simulated_survey(n_mosaics=6, seed=11):
    """20" mosaics with noise, compact sources and radio galaxies; halos in half the clusters."""
    rng = np.random.default_rng(seed)
    mosaics, rows = [], []
    for index in range(n_mosaics):
        simulator = SkySimulator(
            400,
            6 * u.arcsec,
            20 * u.arcsec,
            RMS * u.Jy / u.beam,
            seed=seed + index,
            center=SkyCoord((140 + 5 * index) * u.deg, 40 * u.deg),
            halo_density=0 / u.deg**2,
            minihalo_density=0 / u.deg**2,
            relic_density=0 / u.deg**2,
            bridge_density=0 / u.deg**2,
            filament_density=0 / u.deg**2,
        )
        mosaic = simulator.field(0).mosaic
        for k in range(4):
            position = mosaic.wcs.pixel_to_world(100 + 200 * (k % 2), 100 + 200 * (k // 2))
            z = float(rng.uniform(0.1, 0.35))
            halo = (index + k) % 2 == 0
            if halo:
                power = 10 ** rng.uniform(24.3, 25.5) * u.W / u.Hz
                flux = power / radio_power(1 * u.Jy, z) * u.Jy
                radius = rng.uniform(80, 200) * u.kpc
                component = RadioHalo(flux, e_folding_radius=radius, redshift=z, seed=k)
                mosaic, _ = inject(mosaic, component, position)
            rows.append((f"sim{index}{k}", position.ra.deg, position.dec.deg, z, halo))
        mosaics.append(mosaic)
    return mosaics, Table(rows=rows, names=["name", "ra", "dec", "z", "halo"])


def roc(detector, output):
    mosaics, table = simulated_survey()
    clusters = classify_clusters(detector, table, mosaics, box_size=1.5 * u.Mpc, progress=False)
    validation = validate_scores(clusters["score"], table["halo"])
    print(
        f"{len(table)} simulated clusters: AUC {validation.auc:.3f}; at 0.5: accuracy "
        f"{validation.accuracy:.3f}, recall {validation.recall:.3f}, precision "
        f"{validation.precision:.3f}; best threshold {validation.best_threshold:.3f} "
        f"(accuracy {validation.best_accuracy:.3f})"
    )
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    plot_roc(validation, ax)
    ax.set_title(f"{len(table)} simulated clusters, half with a halo", fontsize=9)
    fig.tight_layout()
    path = output / "clusters_roc.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model name or card (default: the default)")
    parser.add_argument("--output", type=Path, default=STATIC, help="where the PNGs go")
    args = parser.parse_args()
    detector = DiffuseDetector.from_pretrained(args.model, device="cpu")
    args.output.mkdir(parents=True, exist_ok=True)
    real_gallery(detector, args.output)
    roc(detector, args.output)


if __name__ == "__main__":
    main()
