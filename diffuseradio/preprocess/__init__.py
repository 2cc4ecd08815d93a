"""From an image to the network's input.

The stage before the network: :mod:`~diffuseradio.preprocess.working_grid`
decides the beam and pixel scale an input is brought to (the model's working
grid), :mod:`~diffuseradio.preprocess.inputs` builds the input channels
(tapered and, for two-resolution models, native),
:mod:`~diffuseradio.preprocess.normalization` puts them in units of the local
noise (the one normalisation shared by training and inference),
:mod:`~diffuseradio.preprocess.noise_embedding` places an image smaller than
the network's tile in a tile of noise like its own, and
:mod:`~diffuseradio.preprocess.compact` subtracts compact sources.
"""

from .compact import compact_emission, compact_model, subtract_compact
from .inputs import model_input, stack_channels, working_mosaic
from .noise_embedding import embed_in_noise
from .normalization import NORMALIZATIONS, network_input, normalize
from .working_grid import WorkingGrid, to_working_grid, working_grid

__all__ = [
    "WorkingGrid",
    "working_grid",
    "to_working_grid",
    "model_input",
    "stack_channels",
    "working_mosaic",
    "NORMALIZATIONS",
    "normalize",
    "network_input",
    "embed_in_noise",
    "compact_emission",
    "compact_model",
    "subtract_compact",
]
