"""DiffuseDetector: a trained network with its card, ready to run on images.

:meth:`DiffuseDetector.predict` brings an image to the model's working
resolution (:mod:`diffuseradio.resolution`), normalises it in units of the
local noise (:func:`diffuseradio.normalization.network_input`), runs the
network over overlapping tiles and stitches the result
(:func:`diffuseradio.models.predict_image`), and maps the probabilities back
to the input grid. :meth:`DiffuseDetector.detect` thresholds them, labels
connected regions (:func:`diffuseradio.segmentation.segment`) and measures
them on the input pixels (:class:`~diffuseradio.catalog.DetectionCatalog`).
"""

import astropy.units as u
import numpy as np

from .catalog import DetectionCatalog
from .exceptions import InvalidImageError
from .models import (
    available_models,
    load_model,
    predict_image,
    select_device,
    select_precision,
    to_device,
)
from .normalization import network_input
from .resolution import to_input_grid, to_working_grid
from .segmentation import segment

#: Smallest image side, in working-grid pixels, a model is run on.
MIN_SIDE_PIXELS = 8

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

    # ------------------------------------------------------------ predict

    def predict(self, mosaic, *, batch_size=8, augment=True, return_spread=False, progress=False):
        """Probability of diffuse emission on the mosaic's own grid.

        Parameters
        ----------
        mosaic : `~diffuseradio.SurveyMosaic`
            Any image whose beam the model accepts (see the card's
            ``accepted_beam_range``).
        batch_size : int, optional
            Tiles per forward pass.
        augment : bool, optional
            Test-time augmentation (default): average over the 8 rotations
            and flips of each tile, which makes the result exactly symmetric
            under them (the bundled networks, trained with these
            augmentations, still shift their output by up to one working
            beam without it). False is 8 times faster.
        return_spread : bool, optional
            Also return the per-pixel standard deviation over the
            augmentations (needs ``augment=True``).
        progress : bool, optional
            Show a progress bar over tiles.

        Returns
        -------
        probability : numpy.ndarray
            float32, ``(ny, nx)`` for a model with one diffuse class, or
            ``(n_classes - 1, ny, nx)``, one map per diffuse class. NaN where
            the input is blanked.
        spread : numpy.ndarray
            Only with ``return_spread=True``: the standard deviation over
            the augmentations, same shape.

        Raises
        ------
        diffuseradio.IncompatibleResolutionError
            If the image's beam is outside the range the model accepts.
        diffuseradio.InvalidImageError
            If the image is too small at the working resolution.
        """
        if return_spread and not augment:
            raise ValueError("return_spread needs augment=True")
        card = self.card
        matched, _ = to_working_grid(
            mosaic,
            working_beam=card.beam,
            working_pixel_scale=card.pixel_scale,
            accepted_range=card.accepted_beam_range,
        )
        if min(matched.shape) < MIN_SIDE_PIXELS:
            raise InvalidImageError(
                f"the image is {matched.shape[0]}x{matched.shape[1]} pixels at the model's "
                f"working resolution; at least {MIN_SIDE_PIXELS} pixels are needed"
            )
        image, _ = network_input(
            matched,
            name=card.normalization["name"],
            parameters=card.normalization["parameters"],
            rms_box_beams=card.normalization["rms_box_beams"],
        )
        probability, spread = predict_image(
            self.model,
            image,
            tile_size=card.tile_size,
            overlap=card.tile_overlap,
            batch_size=batch_size,
            device=self.device,
            precision=self.precision,
            probabilities=card.probabilities,
            augment=augment,
            progress=progress,
        )
        maps = [self._diffuse_maps(probability)]
        if return_spread:
            maps.append(self._diffuse_maps(spread))
        maps = [self._to_input_grid(m, matched, mosaic) for m in maps]
        return tuple(maps) if return_spread else maps[0]

    def _diffuse_maps(self, probability):
        """Drop the background channel of a softmax output; squeeze one class."""
        maps = probability[1:] if probability.shape[0] > 1 else probability
        return maps[0] if maps.shape[0] == 1 else maps

    @staticmethod
    def _to_input_grid(maps, matched, mosaic):
        maps = np.nan_to_num(to_input_grid(maps, matched, mosaic), nan=0.0, copy=False)
        for start in range(0, mosaic.shape[0], 1024):  # blank where the input is, in strips
            rows = slice(start, start + 1024)
            maps[..., rows, :][..., ~np.isfinite(mosaic.data[rows])] = np.nan
        return maps

    # ------------------------------------------------------------- detect

    def detect(
        self,
        mosaic,
        *,
        threshold=None,
        low_threshold=None,
        min_area_beams=None,
        batch_size=8,
        augment=True,
        progress=False,
        redshift=None,
    ):
        """Find diffuse emission and measure it: a catalogue.

        Parameters
        ----------
        mosaic : `~diffuseradio.SurveyMosaic`
        threshold : float, optional
            Probability that seeds a detection (default: the card's).
        low_threshold : float, optional
            Hysteresis: detections grow over connected pixels down to this
            probability (default: the card's ``low_threshold``, or
            ``threshold`` where that is lower).
        min_area_beams : float, optional
            Smallest detection, in working beams (e.g. 20" beams for the
            LoTSS models); smaller regions are dropped (default: the card's).
        batch_size : int, optional
        augment : bool, optional
            Test-time augmentation (see :meth:`predict`; default True).
        progress : bool, optional
        redshift : float, optional
            Redshift of the emission, for physical sizes in the catalogue.

        Returns
        -------
        DetectionCatalog
            Empty (with a warning) when nothing is found.
        """
        settings = self.card.detection_settings(threshold, low_threshold, min_area_beams)
        probability = self.predict(
            mosaic, batch_size=batch_size, augment=augment, progress=progress
        )
        diffuse = probability if probability.ndim == 2 else np.nansum(probability, axis=0)
        working_beam_pixels = float(self.card.beam.sr / mosaic.pixel_scale**2)
        labels = segment(
            diffuse,
            settings["threshold"],
            min_area=settings["min_area_beams"] * working_beam_pixels,
            low_threshold=settings["low_threshold"],
        )
        classes = self.card.classes[1:] if probability.ndim == 3 else None
        meta = {
            "model": self.card.identifier,
            **settings,
            "working_beam_arcsec": float(self.card.beam.major.to_value(u.arcsec)),
        }
        return DetectionCatalog(
            mosaic, labels, probability, classes=classes, redshift=redshift, meta=meta
        )

    # ----------------------------------------------------------- clusters

    def classify_clusters(self, clusters, mosaics, **kwargs):
        """Score and measure diffuse emission in each cluster of a catalogue.

        Runs :func:`diffuseradio.clusters.classify_clusters` with this
        detector.

        Parameters
        ----------
        clusters : `~astropy.table.Table`
            Cluster catalogue (e.g. Planck PSZ2 or MCXC, as distributed).
        mosaics : str, os.PathLike, `~diffuseradio.SurveyMosaic` or a list of them
            The survey images.
        **kwargs
            Options of :func:`~diffuseradio.clusters.classify_clusters`
            (box size, aperture, thresholds, ``outdir``, ``client``...).

        Returns
        -------
        `~astropy.table.QTable`
            One row per cluster: score, yes/no, measurements, flags.
        """
        from .clusters import classify_clusters

        return classify_clusters(self, clusters, mosaics, **kwargs)
