"""The network architectures a model card can name, and building a card's network.

``ARCHITECTURES`` maps the card's ``architecture`` to a class
(:class:`~diffuseradio.models.UNet`, :class:`~diffuseradio.models.TransUNet`);
:func:`build_network` instantiates the untrained network of a card, with its
island classifier when the card has an island stage.
"""

from ..exceptions import ModelError
from .island_classifier import IslandClassifier
from .transunet import TransUNet
from .unet import UNet

__all__ = ["ARCHITECTURES", "build_network", "build_island_classifier"]

#: Network classes by the architecture name used in model cards.
ARCHITECTURES = {"unet": UNet, "transunet": TransUNet}


def build_network(card):
    """Instantiate the (untrained) network a card describes.

    Parameters
    ----------
    card : ModelCard
        The model card.

    Returns
    -------
    torch.nn.Module
        The network, in evaluation mode, on the CPU; when the card has
        ``islands``, with its :class:`~diffuseradio.models.IslandClassifier`
        as the submodule ``island_classifier`` (so one state dict, and one
        weights file, hold both).

    Raises
    ------
    ModelError
        When the architecture arguments are invalid.
    """
    try:
        network = ARCHITECTURES[card.architecture](**card.architecture_args)
    except (TypeError, ValueError) as err:
        raise ModelError(f"model card {card.name!r}: architecture_args: {err}") from None
    if card.islands is not None:
        network.island_classifier = build_island_classifier(card)
    return network.eval()


def build_island_classifier(card):
    """Instantiate the (untrained) island classifier a card's ``islands`` describe.

    Parameters
    ----------
    card : ModelCard
        A card with ``islands``.

    Returns
    -------
    IslandClassifier
        Reading all the cutout channels.
    """
    size = card.island_settings.cutout_pixels
    return IslandClassifier(card.island_channels, size, **card.islands["args"])
