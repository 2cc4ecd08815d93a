"""DiffuseDetector: a trained network with its card, ready to run on images.

:meth:`DiffuseDetector.predict` brings an image to the model's working
resolution and normalises it in units of the local noise, one channel per
input resolution of the model (:func:`diffuseradio.channels.model_input`), runs the
network over overlapping tiles and stitches the result
(:func:`diffuseradio.models.predict_image`), and maps the probabilities back
to the input grid. A model whose card has an ``islands`` section also
classifies each island of emission as a whole and raises the probability
over the diffuse ones (:mod:`diffuseradio.islands`).
:meth:`DiffuseDetector.detect` thresholds them, labels
connected regions (:func:`diffuseradio.segmentation.segment`) and measures
them on the input pixels (:class:`~diffuseradio.catalog.DetectionCatalog`).
"""

import astropy.units as u
import numpy as np

from .catalog import DetectionCatalog
from .channels import model_input
from .islands import classifier_cutouts, paint_islands
from .models import (
    available_models,
    classify_cutouts,
    load_model,
    predict_image,
    select_device,
    select_precision,
    to_device,
)
from .resolution import to_input_grid
from .segmentation import segment

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

    def predict(
        self,
        mosaic,
        *,
        native=None,
        batch_size=8,
        augment=True,
        return_spread=False,
        progress=False,
    ):
        """Probability of diffuse emission on the mosaic's own grid.

        Parameters
        ----------
        mosaic : `~diffuseradio.SurveyMosaic`
            Any image whose beam the model accepts (see the card's
            ``accepted_beam_range``). For a model with a native-resolution
            channel (the card's ``native_beam``), the native image (e.g.
            LoTSS 6"), or the tapered image when ``native`` is given.
        native : `~diffuseradio.SurveyMosaic`, optional
            Only for models with a native channel: the native-resolution
            image of the same field, on a finer version of ``mosaic``'s grid
            (see :func:`~diffuseradio.channels.model_input`).
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
            augmentations (needs ``augment=True``) of the segmentation
            network's probability (the island stage's is not included).
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
            If the image's beam is outside the range the model accepts, or a
            model with a native channel gets no native-resolution image.
        diffuseradio.InvalidImageError
            If the image is too small at the working resolution.
        """
        if return_spread and not augment:
            raise ValueError("return_spread needs augment=True")
        card = self.card
        matched, image = model_input(card, mosaic, native)
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
        if card.islands is not None:
            probability[-1] = self._islands(image, matched, probability[-1], batch_size, augment)
        maps = [self._diffuse_maps(probability)]
        if return_spread:
            maps.append(self._diffuse_maps(spread))
        maps = [self._to_input_grid(m, matched, mosaic) for m in maps]
        return tuple(maps) if return_spread else maps[0]

    def _islands(self, image, matched, probability, batch_size, augment):
        """The probability raised over the islands the island classifier finds diffuse."""
        settings = self.card.island_settings
        labels, ids, cutouts = classifier_cutouts(
            image,
            probability,
            matched.beam_area_pixels,
            settings,
            normalization=self.card.normalization,
        )
        scores = classify_cutouts(
            self.model.island_classifier,
            cutouts,
            batch_size=32 * batch_size,
            device=self.device,
            precision=self.precision,
            augment=augment,
        )
        return paint_islands(
            probability,
            labels,
            ids,
            scores,
            region_threshold=settings.region_threshold,
            region_cover=settings.region_cover,
        )

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
        native=None,
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
            The image (see :meth:`predict`); detections are measured on it.
        native : `~diffuseradio.SurveyMosaic`, optional
            The native-resolution image, for models with a native channel
            (see :meth:`predict`).
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
            mosaic, native=native, batch_size=batch_size, augment=augment, progress=progress
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
