"""From an image to the network's input.

The stage before the network: :mod:`~diffuseradio.preprocess.working_grid`
decides the beam and pixel scale an input is brought to (the model's working
grid), :mod:`~diffuseradio.preprocess.inputs` builds the input channels
(tapered and, for two-resolution models, native),
:mod:`~diffuseradio.preprocess.normalization` puts them in units of the local
noise (the one normalisation shared by training and inference), and
:mod:`~diffuseradio.preprocess.compact` subtracts compact sources.
"""

from .compact import compact_emission, compact_model, subtract_compact
from .inputs import model_input, stack_channels, working_mosaic
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
    "compact_emission",
    "compact_model",
    "subtract_compact",
]
