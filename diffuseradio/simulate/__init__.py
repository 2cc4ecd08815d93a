"""Simulated radio skies: diffuse cluster emission, confusers, noise, truth.

Build training and test data for the detectors, and inject mock sources into
real images:

>>> import astropy.units as u
>>> from diffuseradio.simulate import SkySimulator
>>> sim = SkySimulator(256, 4.5 * u.arcsec, 20 * u.arcsec, 120 * u.uJy / u.beam, seed=3)
>>> field = sim.field(0)
>>> field.truth.shape == field.mosaic.shape
True

Components (each renders a sky model in Jy/pixel and a beam-convolved image
in Jy/beam): :class:`RadioHalo`, :class:`MiniHalo`, :class:`RadioRelic`,
:class:`Bridge`, :class:`Filament`, :class:`CompactSource`, :class:`FRI`,
:class:`FRII`, :class:`HeadTail`, :class:`RemnantRadioGalaxy` and
:class:`CalibrationArtefact`.
"""

from .artefacts import CalibrationArtefact
from .bridges import Bridge, Filament
from .compact import CompactSource, SourceCounts
from .component import Component, angular_size
from .field import DIFFUSE_CLASSES, LOCAL_RMS_BOX_BEAMS, SimulatedField, SkySimulator
from .halos import MiniHalo, RadioHalo
from .inject import inject
from .io import write_field, write_fields
from .population import Population
from .radiogalaxies import FRI, FRII, HeadTail, RadioGalaxy, RemnantRadioGalaxy
from .relics import RadioRelic

__all__ = [
    "SkySimulator",
    "SimulatedField",
    "Population",
    "DIFFUSE_CLASSES",
    "LOCAL_RMS_BOX_BEAMS",
    "Component",
    "RadioHalo",
    "MiniHalo",
    "RadioRelic",
    "Bridge",
    "Filament",
    "CompactSource",
    "SourceCounts",
    "RadioGalaxy",
    "FRI",
    "FRII",
    "HeadTail",
    "RemnantRadioGalaxy",
    "CalibrationArtefact",
    "angular_size",
    "inject",
    "write_field",
    "write_fields",
]
