"""Make the example field shipped in diffuseradio/data (run once, committed).

A simulated LoTSS-like 6" field at 1.5" pixels (80 uJy/beam, 144 MHz) from
diffuseradio.simulate, with the first seed that gives a bright radio halo, a
relic and resolved radio galaxies, so that ``diffuseradio detect --example``
has something to find and something to reject. The object table is written
next to it.

Usage::

    python scripts/make_example_field.py
"""

from pathlib import Path

import astropy.units as u

from diffuseradio.simulate import SkySimulator, write_field

OUT = Path(__file__).resolve().parents[1] / "diffuseradio" / "data" / "example_field"


def suitable(objects):
    kinds = set(objects["kind"][objects["integrated_snr"] > 20])
    return "halo" in kinds and "relic" in kinds and len(kinds & {"fri", "frii", "headtail"}) >= 1


def main():
    for seed in range(200):
        simulator = SkySimulator(
            640,
            1.5 * u.arcsec,
            6 * u.arcsec,
            80 * u.uJy / u.beam,
            seed=seed,
            halo_density=60 / u.deg**2,
            relic_density=40 / u.deg**2,
            radio_galaxy_density=60 / u.deg**2,
            redshift_range=(0.1, 0.3),
        )
        field = simulator.field(0)
        if suitable(field.objects):
            stems = write_field(field, OUT)
            print(f"seed {seed}: {stems}")
            print(field.objects["id", "kind", "integrated_snr", "flux_density", "size"])
            return
    raise SystemExit("no suitable field in 200 seeds")


if __name__ == "__main__":
    main()
