"""Render the example figures of docs/simulate.rst into docs/_static/.

Run from the repository root (not part of the tests)::

    OMP_NUM_THREADS=1 python docs/plots/plot_simulate.py
"""

from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.coordinates import SkyCoord  # noqa: E402
from PIL import Image  # noqa: E402

from diffuseradio.mosaic import SurveyMosaic  # noqa: E402
from diffuseradio.simulate import (  # noqa: E402
    FRI,
    FRII,
    Bridge,
    CalibrationArtefact,
    CompactSource,
    HeadTail,
    MiniHalo,
    RadioHalo,
    RadioRelic,
    RemnantRadioGalaxy,
    SkySimulator,
    inject,
)

STATIC = Path(__file__).resolve().parents[1] / "_static"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
RMS = 80e-6
#: A field of seed 7 that holds a halo, a relic and radio galaxies.
FIELD_INDEX = 8
COLOURS = {1: "tab:red", 2: "tab:blue", 3: "tab:green"}


def background(seed=0, size=400):
    """A LoTSS-like 6" field with noise and compact sources only."""
    simulator = SkySimulator(
        size,
        1.5 * u.arcsec,
        6 * u.arcsec,
        RMS * u.Jy / u.beam,
        seed=seed,
        halo_density=0 / u.deg**2,
        minihalo_density=0 / u.deg**2,
        relic_density=0 / u.deg**2,
        bridge_density=0 / u.deg**2,
        filament_density=0 / u.deg**2,
        radio_galaxy_density=0 / u.deg**2,
        artefact_snr=np.inf,
    )
    return simulator.field(0).mosaic


def stretch(data, rms):
    """The display stretch: asinh of the S/N (linear to ~3 sigma, then logarithmic)."""
    return np.arcsinh(data / (3 * rms))


def save(fig, name, dpi=72):
    """Save a figure as a small palette PNG."""
    path = STATIC / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    Image.open(path).convert("RGB").quantize(128).save(path, optimize=True)


def show(ax, data, truth=None, title="", confusers=None, rms=RMS):
    ax.imshow(
        stretch(data, rms),
        origin="lower",
        cmap="gray_r",
        vmin=-0.7,
        vmax=4.5,
        interpolation="nearest",
    )
    if truth is not None:
        for value, colour in COLOURS.items():
            if (truth == value).any():
                ax.contour(truth == value, levels=[0.5], colors=colour, linewidths=0.8)
    if confusers is not None and confusers.any():
        ax.contour(confusers, levels=[0.5], colors="orange", linewidths=0.6)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def components():
    """One panel per component kind, each injected into its own background."""
    examples = [
        (
            "radio halo (z=0.15, r_e=120 kpc, 120 mJy)",
            RadioHalo(
                120 * u.mJy,
                e_folding_radius=120 * u.kpc,
                redshift=0.15,
                ellipticity=0.2,
                position_angle=30 * u.deg,
                seed=1,
            ),
        ),
        (
            "mini-halo + BCG",
            MiniHalo(20 * u.mJy, e_folding_radius=40 * u.kpc, redshift=0.1, seed=2),
        ),
        (
            "radio relic (1.2 Mpc, z=0.2)",
            RadioRelic(
                40 * u.mJy,
                length=1.2 * u.Mpc,
                width=80 * u.kpc,
                redshift=0.2,
                position_angle=60 * u.deg,
                seed=3,
            ),
        ),
        (
            "bridge (2 Mpc, z=0.2)",
            Bridge(
                150 * u.mJy,
                length=2 * u.Mpc,
                width=400 * u.kpc,
                redshift=0.2,
                position_angle=120 * u.deg,
                seed=4,
            ),
        ),
        ("FRI", FRI(150 * u.mJy, size=200 * u.arcsec, position_angle=70 * u.deg, seed=5)),
        ("FRII", FRII(300 * u.mJy, size=260 * u.arcsec, position_angle=40 * u.deg, seed=6)),
        (
            "head-tail",
            HeadTail(80 * u.mJy, size=200 * u.arcsec, position_angle=200 * u.deg, seed=7),
        ),
        (
            "remnant radio galaxy",
            RemnantRadioGalaxy(60 * u.mJy, size=300 * u.arcsec, position_angle=10 * u.deg, seed=8),
        ),
        ("calibration artefacts (1 Jy source)", CalibrationArtefact(1 * u.Jy, seed=9)),
    ]
    fig, axes = plt.subplots(3, 3, figsize=(9, 9.4))
    for i, (ax, (title, component)) in enumerate(zip(axes.flat, examples)):
        mosaic = background(seed=10 + i)
        centre = mosaic.wcs.pixel_to_world(199.5, 199.5)
        mosaic, truth = inject(mosaic, component, centre)
        if isinstance(component, (MiniHalo, CalibrationArtefact)):
            source = CompactSource(1 * u.Jy if i == 8 else 20 * u.mJy)
            mosaic, _ = inject(mosaic, source, centre)
        confusers = truth if component.truth_class == 0 else None
        show(ax, mosaic.data, None if confusers is not None else truth, title)
    fig.suptitle(
        'Simulated components in LoTSS-like noise (6" beam, 1.5" pixels, 80 uJy/beam; '
        "10' x 10', asinh stretch)",
        fontsize=9,
    )
    fig.tight_layout()
    save(fig, "simulate_components.png", dpi=60)


def full_field():
    """A full 20' field with its truth and confuser contours."""
    simulator = SkySimulator(
        800,
        1.5 * u.arcsec,
        6 * u.arcsec,
        RMS * u.Jy / u.beam,
        seed=7,
        halo_density=12 / u.deg**2,
        relic_density=8 / u.deg**2,
    )
    field = simulator.field(FIELD_INDEX)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.3))
    show(
        axes[0],
        field.mosaic.data,
        field.truth,
        "image, truth (red halo, blue relic, green bridge), confusers (orange)",
        field.confusers,
    )
    show(axes[1], field.diffuse, field.truth, "noiseless diffuse model")
    for row in field.objects:
        axes[0].annotate(row["kind"], (row["x"], row["y"]), color="purple", fontsize=7)
    fig.tight_layout()
    save(fig, "simulate_field.png")
    return field


def injection():
    """A halo injected into the real LoTSS-DR1 P205+55 cut-out."""
    path = REAL / "lotss_dr1_P205+55_field" / "LoTSS_DR1_P205+55_cutout_600px.fits"
    real = SurveyMosaic.read(path)
    halo = RadioHalo(150 * u.mJy, e_folding_radius=150 * u.kpc, redshift=0.15, seed=3)
    position = SkyCoord(207.16 * u.deg, 55.18 * u.deg)
    injected, truth = inject(real, halo, position)
    rms = real.rms.to_value(u.Jy / u.beam)
    smoothed = injected.convolve_to(30 * u.arcsec)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
    for ax, data, title in (
        (axes[0], real.data, 'LoTSS-DR1 P205+55 (6")'),
        (axes[1], injected.data, "+ 150 mJy halo, r_e = 150 kpc at z = 0.15"),
    ):
        show(ax, data, title=title, rms=rms)
    show(axes[2], smoothed.data, rms=smoothed.rms.to_value(u.Jy / u.beam))
    axes[2].contour(truth, levels=[0.5], colors="tab:red", linewidths=0.8)
    axes[2].set_title('convolved to 30", truth contour (k = 1 at 6")', fontsize=9)
    fig.tight_layout()
    save(fig, "simulate_injection.png")


if __name__ == "__main__":
    STATIC.mkdir(parents=True, exist_ok=True)
    components()
    print(full_field().objects)
    injection()
