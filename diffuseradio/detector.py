"""DiffuseDetector: a trained network with its card, ready to run on images."""

from .models import available_models, load_model, select_device, select_precision, to_device

__all__ = ["DiffuseDetector"]


class DiffuseDetector:
    """Finds diffuse radio emission with a trained network.

    Parameters
    ----------
    model : torch.nn.Module
        The network (e.g. a :class:`~diffuseradio.models.UNet`).
    card : `~diffuseradio.models.ModelCard`
        Its model card: working resolution, normalisation, tiling, threshold.
    device : str or torch.device, optional
        Where the network runs, see :func:`~diffuseradio.models.select_device`.
    precision : str or torch.dtype, optional
        Autocast precision, see :func:`~diffuseradio.models.select_precision`.

    See Also
    --------
    from_pretrained : load a registered or saved model.
    """

    def __init__(self, model, card, *, device="auto", precision="auto"):
        self.device = select_device(device)
        self.precision = select_precision(precision, self.device)
        self.model = to_device(model, self.device).eval()
        self.card = card

    @classmethod
    def from_pretrained(
        cls, name=None, version=None, device="auto", precision="auto", *, offline=None
    ):
        """Load a trained model from the registry, a local path or a URL.

        Parameters
        ----------
        name : str or os.PathLike, optional
            Registry name, ``"name@version"``, card or weights path, or URL;
            None for the default model. See
            :func:`~diffuseradio.models.load_model`.
        version : str, optional
            Version of a registry name (default: the highest).
        device : str or torch.device, optional
            ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda:1"``...
        precision : str or torch.dtype, optional
            ``"auto"``, ``"fp32"`` or ``"bf16"``.
        offline : bool, optional
            Forbid downloads (default: the ``DIFFUSERADIO_OFFLINE`` variable).

        Returns
        -------
        DiffuseDetector

        Raises
        ------
        diffuseradio.ModelNotFoundError
            For an unknown name, or when no default model exists.
        diffuseradio.ModelError
            For unsafe, corrupt or mismatched weights (see
            :func:`~diffuseradio.models.load_model`).
        """
        loaded = load_model(name, version, device, precision, offline=offline)
        return cls(loaded.model, loaded.card, device=loaded.device, precision=loaded.precision)

    @staticmethod
    def available_models():
        """The registered models (see :func:`~diffuseradio.models.available_models`).

        Returns
        -------
        astropy.table.QTable
        """
        return available_models()

    def __repr__(self):
        precision = str(self.precision).removeprefix("torch.")
        return (
            f"{type(self).__name__}(model={self.card.identifier!r}, "
            f"architecture={self.card.architecture!r}, device='{self.device}', "
            f"precision={precision!r})"
        )
