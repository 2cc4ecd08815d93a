"""What a simulated field contains: the random population of sources.

:class:`Population` holds the rates and ranges (with documented, physically
motivated defaults) and draws, for one field, the list of extended sources
with their positions and target integrated S/N, and the arrays of compact
sources. Diffuse sources sit in clusters: a cluster with a halo may also
host a BCG, compact member galaxies and a head-tail or FRI galaxy inside
the halo, and relics sit at the periphery of a cluster (sometimes one with
a halo, sometimes a double relic).

Brightness is set by a target *integrated S/N* (see
:mod:`diffuseradio.simulate.field`) drawn log-uniformly from a per-kind
range, so a population keeps the same mix of faint and bright sources at any
beam, pixel scale and noise level; sizes are physical (kpc at the cluster
redshift, Planck 2018 cosmology) for cluster sources and angular for field
radio galaxies.
"""

from dataclasses import dataclass, field, fields
from typing import NamedTuple

import astropy.units as u
import numpy as np

from .artefacts import CalibrationArtefact
from .bridges import Bridge, Filament
from .compact import SourceCounts
from .component import angular_size
from .halos import MiniHalo, RadioHalo
from .radiogalaxies import FRI, FRII, HeadTail, RemnantRadioGalaxy
from .relics import RadioRelic

__all__ = ["Population", "Placement", "CompactSources", "FieldGeometry"]

_PER_DEG2 = u.deg**-2

#: Default target integrated S/N ranges (log-uniform) per kind.
DEFAULT_SNR = {
    "halo": (3.0, 300.0),
    "minihalo": (3.0, 300.0),
    "relic": (3.0, 300.0),
    "bridge": (3.0, 100.0),
    "filament": (3.0, 50.0),
    "fri": (10.0, 3000.0),
    "frii": (10.0, 3000.0),
    "headtail": (10.0, 3000.0),
    "remnant": (5.0, 200.0),
}

#: Default mix of field radio galaxies.
DEFAULT_RADIO_GALAXIES = {"fri": 0.3, "frii": 0.35, "headtail": 0.1, "remnant": 0.25}

_RADIO_GALAXY_CLASSES = {
    "fri": FRI,
    "frii": FRII,
    "headtail": HeadTail,
    "remnant": RemnantRadioGalaxy,
}


class Placement(NamedTuple):
    """An extended source at a pixel position with a target integrated S/N.

    ``target_snr`` is None when the component's flux density is to be kept
    (artefacts).
    """

    component: object
    x: float
    y: float
    target_snr: float = None


class CompactSources(NamedTuple):
    """Compact sources of a field as arrays (pixel positions, Jy, pixels, rad)."""

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray
    sigma_major: np.ndarray
    sigma_minor: np.ndarray
    position_angle: np.ndarray


@dataclass(frozen=True)
class Population:
    """Rates and ranges of the simulated sources (defaults: LoTSS-like sky).

    Densities are per square degree (Poisson numbers scale with the field
    area); sizes in kpc are proper sizes at the cluster redshift. Quantities
    may also be given as plain numbers or ``[low, high]`` lists in the units
    of their defaults (as in the ``[data.population]`` table of a training
    configuration): ``minihalo_density=3`` means 3 per deg^2.

    Parameters
    ----------
    halo_density : `~astropy.units.Quantity`
        Radio halos per deg^2 (3: a sky enriched ~100x in clusters with
        halos, so that most training fields hold diffuse emission).
    minihalo_density : `~astropy.units.Quantity`
        Mini-halos per deg^2 (1).
    relic_density : `~astropy.units.Quantity`
        Clusters with relics per deg^2 (2); 30 % have a double relic, half
        of them are clusters that also host a halo.
    bridge_density, filament_density : `~astropy.units.Quantity`
        Bridges (0.5) and cosmic-web filaments (0.3) per deg^2.
    radio_galaxy_density : `~astropy.units.Quantity`
        Resolved field radio galaxies per deg^2 (15), mixed as
        ``radio_galaxy_mix``.
    radio_galaxy_mix : dict
        Fractions of ``"fri"``, ``"frii"``, ``"headtail"``, ``"remnant"``.
    radio_galaxy_size : `~astropy.units.Quantity`
        Range of largest angular sizes of field radio galaxies (20"-400",
        log-uniform).
    redshift_range : tuple of float
        Cluster redshifts, uniform (0.05-0.5, the range of the LoTSS-DR2
        PSZ2 halos of Botteon et al. 2022).
    halo_radius : `~astropy.units.Quantity`
        Halo e-folding radii, log-uniform (50-300 kpc, Botteon et al. 2022).
    minihalo_radius : `~astropy.units.Quantity`
        Mini-halo e-folding radii (15-60 kpc).
    relic_length, relic_width, relic_distance : `~astropy.units.Quantity`
        Relic arc lengths (200-2000 kpc, log-uniform), downstream widths
        (30-150 kpc) and distances from the cluster centre (400-1500 kpc).
    bridge_length, filament_length : `~astropy.units.Quantity`
        Bridge (1-3 Mpc) and filament (2-5 Mpc) lengths.
    cluster_members : float
        Mean number of compact member sources around a halo's centre (4).
    cluster_radio_galaxy : float
        Probability that a halo cluster hosts a head-tail or FRI galaxy
        inside the halo (0.5).
    bcg_probability : float
        Probability that a halo cluster has a radio-loud BCG at its centre
        (0.6; mini-halos always have one).
    snr : dict
        Target integrated S/N range per kind, see ``DEFAULT_SNR``
        (halos 3-300).
    source_counts : SourceCounts
        Counts of compact sources (Intema et al. 2017 fit).
    compact_min_snr : float
        Faintest compact source drawn, in units of the rms (1: fainter
        sources are part of the noise; ~1.1e4 deg^-2 above 70 uJy).
    compact_max_flux : `~astropy.units.Quantity`
        Brightest compact source drawn (10 Jy).
    artefact_snr : float
        Compact sources brighter than this many times the rms get
        calibration artefacts (1000, i.e. ~80 mJy in LoTSS).
    """

    halo_density: u.Quantity = 3.0 * _PER_DEG2
    minihalo_density: u.Quantity = 1.0 * _PER_DEG2
    relic_density: u.Quantity = 2.0 * _PER_DEG2
    bridge_density: u.Quantity = 0.5 * _PER_DEG2
    filament_density: u.Quantity = 0.3 * _PER_DEG2
    radio_galaxy_density: u.Quantity = 15.0 * _PER_DEG2
    radio_galaxy_mix: dict = field(default_factory=lambda: dict(DEFAULT_RADIO_GALAXIES))
    radio_galaxy_size: u.Quantity = (20.0, 400.0) * u.arcsec
    redshift_range: tuple = (0.05, 0.5)
    halo_radius: u.Quantity = (50.0, 300.0) * u.kpc
    minihalo_radius: u.Quantity = (15.0, 60.0) * u.kpc
    relic_length: u.Quantity = (200.0, 2000.0) * u.kpc
    relic_width: u.Quantity = (30.0, 150.0) * u.kpc
    relic_distance: u.Quantity = (400.0, 1500.0) * u.kpc
    bridge_length: u.Quantity = (1.0, 3.0) * u.Mpc
    filament_length: u.Quantity = (2.0, 5.0) * u.Mpc
    cluster_members: float = 4.0
    cluster_radio_galaxy: float = 0.5
    bcg_probability: float = 0.6
    snr: dict = field(default_factory=lambda: dict(DEFAULT_SNR))
    source_counts: SourceCounts = field(default_factory=SourceCounts)
    compact_min_snr: float = 1.0
    compact_max_flux: u.Quantity = 10.0 * u.Jy
    artefact_snr: float = 1000.0

    def __post_init__(self):
        for name, default in _QUANTITY_DEFAULTS.items():
            value = getattr(self, name)
            if not isinstance(value, u.Quantity):
                object.__setattr__(self, name, u.Quantity(value, default.unit))
            elif not value.unit.is_equivalent(default.unit):
                raise u.UnitsError(f"{name} must be in units of {default.unit}, not {value.unit}")
        unknown = set(self.snr) - set(DEFAULT_SNR)
        if unknown:
            raise ValueError(f"unknown kinds in snr: {sorted(unknown)}")
        object.__setattr__(self, "snr", {**DEFAULT_SNR, **self.snr})
        unknown = set(self.radio_galaxy_mix) - set(_RADIO_GALAXY_CLASSES)
        if unknown:
            raise ValueError(f"unknown radio galaxy kinds: {sorted(unknown)}")

    def draw(self, rng, geometry):
        """Draw the sources of one field.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        geometry : FieldGeometry
            Grid, beam, rms and frequency of the field.

        Returns
        -------
        placements : list of Placement
            Extended sources (diffuse, radio galaxies, artefacts).
        compact : CompactSources
            Compact sources (field, BCGs, cluster members).
        """
        draw = _Draw(self, rng, geometry)
        draw.halos()
        draw.minihalos()
        draw.relics()
        draw.bridges()
        draw.radio_galaxies()
        draw.field_sources()
        draw.artefacts()
        return draw.placements, draw.compact_sources()


class FieldGeometry(NamedTuple):
    """What a population needs to know about a field."""

    shape: tuple
    beam: object  # PixelBeam
    rms: float  # Jy/beam
    frequency: u.Quantity

    @property
    def scale(self):
        """Pixel scale in arcsec."""
        return self.beam.pixel_scale.to_value(u.arcsec)

    @property
    def area(self):
        """Solid angle of the field."""
        return (self.shape[0] * self.shape[1] * self.beam.pixel_scale**2).to(u.deg**2)


#: Population settings that are quantities, with their default units.
_QUANTITY_DEFAULTS = {
    f.name: f.default for f in fields(Population) if isinstance(f.default, u.Quantity)
}


class _Draw:
    """One field's draw: collects placements and compact sources."""

    def __init__(self, population, rng, geometry):
        self.population = population
        self.rng = rng
        self.geometry = geometry
        self.placements = []
        self._compact = []  # (x, y, flux Jy) arrays
        self._halos = []  # (x, y, redshift) of halo clusters

    # -------------------------------------------------------------- helpers

    def number(self, density):
        return self.rng.poisson((density * self.geometry.area).to_value(u.one))

    def position(self):
        ny, nx = self.geometry.shape
        return self.rng.uniform(0, nx - 1), self.rng.uniform(0, ny - 1)

    def log_uniform(self, low, high, size=None):
        return np.exp(self.rng.uniform(np.log(low), np.log(high), size))

    def quantity(self, bounds, log=True):
        low, high = bounds.value
        value = self.log_uniform(low, high) if log else self.rng.uniform(low, high)
        return value * bounds.unit

    def snr(self, kind):
        return self.log_uniform(*self.population.snr[kind])

    def redshift(self):
        return self.rng.uniform(*self.population.redshift_range)

    def seed(self):
        return int(self.rng.integers(2**63))

    def pixels(self, length, redshift):
        """A proper length at ``redshift`` in pixels."""
        return angular_size(length, redshift).to_value(u.arcsec) / self.geometry.scale

    def place(self, component, x, y, target_snr=None):
        self.placements.append(Placement(component, float(x), float(y), target_snr))

    def add_compact(self, x, y, snr_low, snr_high):
        x, y = np.atleast_1d(x), np.atleast_1d(y)
        flux = self.log_uniform(snr_low, snr_high, x.size) * self.geometry.rms
        self._compact.append((x, y, flux))

    def random_angle(self):
        return self.rng.uniform(0, 360) * u.deg

    # -------------------------------------------------------------- kinds

    def halos(self):
        for _ in range(self.number(self.population.halo_density)):
            x, y = self.position()
            z = self.redshift()
            radius = self.quantity(self.population.halo_radius)
            halo = RadioHalo(
                1 * u.Jy,
                e_folding_radius=radius,
                redshift=z,
                ellipticity=self.rng.uniform(0, 0.4),
                position_angle=self.random_angle(),
                turbulence=self.rng.uniform(0.2, 0.5),
                seed=self.seed(),
            )
            self.place(halo, x, y, self.snr("halo"))
            self._halos.append((x, y, z))
            self.cluster_members(x, y, z, self.pixels(radius, z))

    def cluster_members(self, x, y, z, radius_pixels):
        population = self.population
        if self.rng.random() < population.bcg_probability:
            self.add_compact(
                x + self.rng.normal(0, 0.1 * radius_pixels),
                y + self.rng.normal(0, 0.1 * radius_pixels),
                5.0,
                300.0,
            )
        members = self.rng.poisson(population.cluster_members)
        offsets = self.rng.normal(0, radius_pixels, (2, members))
        self.add_compact(x + offsets[0], y + offsets[1], 3.0, 100.0)
        if self.rng.random() < population.cluster_radio_galaxy:
            kind = HeadTail if self.rng.random() < 0.7 else FRI
            distance = radius_pixels * self.rng.uniform(0.3, 2.0)
            angle = self.rng.uniform(0, 2 * np.pi)
            galaxy = kind(
                1 * u.Jy,
                size=self.log_uniform(50, 300) * u.kpc,
                redshift=z,
                position_angle=self.random_angle(),
                seed=self.seed(),
            )
            self.place(
                galaxy,
                x + distance * np.cos(angle),
                y + distance * np.sin(angle),
                self.snr(galaxy.kind),
            )

    def minihalos(self):
        for _ in range(self.number(self.population.minihalo_density)):
            x, y = self.position()
            z = self.redshift()
            halo = MiniHalo(
                1 * u.Jy,
                e_folding_radius=self.quantity(self.population.minihalo_radius),
                redshift=z,
                ellipticity=self.rng.uniform(0, 0.3),
                position_angle=self.random_angle(),
                seed=self.seed(),
            )
            self.place(halo, x, y, self.snr("minihalo"))
            self.add_compact(x, y, 50.0, 2000.0)

    def relics(self):
        population = self.population
        for _ in range(self.number(population.relic_density)):
            if self._halos and self.rng.random() < 0.5:
                x, y, z = self._halos[self.rng.integers(len(self._halos))]
            else:
                (x, y), z = self.position(), self.redshift()
            first = self.rng.uniform(0, 2 * np.pi)
            angles = [first, first + np.pi + self.rng.normal(0, 0.3)]
            for angle in angles[: 2 if self.rng.random() < 0.3 else 1]:
                self.relic(x, y, z, angle)

    def relic(self, x, y, z, angle):
        population = self.population
        distance = self.quantity(population.relic_distance, log=False)
        length = self.quantity(population.relic_length)
        width = min(self.quantity(population.relic_width, log=False), length / 3)
        curvature = max(distance * self.rng.uniform(0.7, 1.5), length / np.pi)
        # Outward normal at position angle `angle` (radians east of north).
        d = self.pixels(distance, z)
        rx, ry = x - d * np.sin(angle), y + d * np.cos(angle)
        ny, nx = self.geometry.shape
        if not (0 <= rx < nx and 0 <= ry < ny):
            return
        relic = RadioRelic(
            1 * u.Jy,
            length=length,
            width=width,
            curvature_radius=curvature,
            position_angle=angle * u.rad,
            redshift=z,
            filaments=self.rng.uniform(0.3, 0.7),
            seed=self.seed(),
        )
        self.place(relic, rx, ry, self.snr("relic"))

    def bridges(self):
        population = self.population
        for kind, density, lengths, widths in (
            (Bridge, population.bridge_density, population.bridge_length, (0.3, 0.8)),
            (Filament, population.filament_density, population.filament_length, (0.5, 1.5)),
        ):
            for _ in range(self.number(density)):
                x, y = self.position()
                component = kind(
                    1 * u.Jy,
                    length=self.quantity(lengths, log=False),
                    width=self.rng.uniform(*widths) * u.Mpc,
                    position_angle=self.random_angle(),
                    redshift=self.redshift(),
                    seed=self.seed(),
                )
                self.place(component, x, y, self.snr(component.kind))

    def radio_galaxies(self):
        population = self.population
        kinds = list(population.radio_galaxy_mix)
        weights = np.array([population.radio_galaxy_mix[k] for k in kinds], dtype=float)
        for _ in range(self.number(population.radio_galaxy_density)):
            kind = kinds[self.rng.choice(len(kinds), p=weights / weights.sum())]
            x, y = self.position()
            galaxy = _RADIO_GALAXY_CLASSES[kind](
                1 * u.Jy,
                size=self.quantity(population.radio_galaxy_size),
                position_angle=self.random_angle(),
                seed=self.seed(),
            )
            self.place(galaxy, x, y, self.snr(kind))

    def field_sources(self):
        geometry = self.geometry
        flux = self.population.source_counts.sample(
            geometry.area,
            self.population.compact_min_snr * geometry.rms * u.Jy,
            self.population.compact_max_flux,
            self.rng,
            frequency=geometry.frequency,
        ).to_value(u.Jy)
        ny, nx = geometry.shape
        x = self.rng.uniform(-0.5, nx - 0.5, flux.size)
        y = self.rng.uniform(-0.5, ny - 0.5, flux.size)
        self._compact.append((x, y, flux))

    def artefacts(self):
        x, y, flux = (np.concatenate(v) for v in zip(*self._compact))
        beam_fwhm = self.geometry.beam.beam.major
        for i in np.flatnonzero(flux > self.population.artefact_snr * self.geometry.rms):
            artefact = CalibrationArtefact(
                flux[i] * u.Jy,
                ring_amplitude=self.log_uniform(1e-4, 1e-3),
                ring_spacing=beam_fwhm * self.rng.uniform(3, 8),
                extent=beam_fwhm * self.rng.uniform(5, 15),
                n_spokes=2 * int(self.rng.integers(1, 5)),
                spoke_amplitude=self.log_uniform(5e-4, 5e-3),
                bowl_depth=self.log_uniform(5e-5, 5e-4),
                bowl_radius=beam_fwhm * self.rng.uniform(4, 10),
                seed=self.seed(),
            )
            self.place(artefact, x[i], y[i])

    def compact_sources(self):
        x, y, flux = (np.concatenate(v) for v in zip(*self._compact))
        # Deconvolved sizes: median 2" (S_144 / 5 mJy)^0.3 (Windhorst et al.
        # 1990 moved to 144 MHz), 0.3 dex scatter, capped at 15".
        fwhm = 2.0 * (flux / 5e-3) ** 0.3 * 10 ** self.rng.normal(0, 0.3, flux.size)
        fwhm = np.minimum(fwhm, 15.0) / self.geometry.scale
        ratio = self.rng.uniform(0.3, 1.0, flux.size)
        sigma = fwhm / np.sqrt(8 * np.log(2))
        return CompactSources(
            x, y, flux, sigma, sigma * ratio, self.rng.uniform(0, np.pi, flux.size)
        )
