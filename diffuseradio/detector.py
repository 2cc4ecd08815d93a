"""DiffuseDetector: a trained network with its card, ready to run on images.

The pipeline on one page. :meth:`DiffuseDetector.predict` takes an image
through the stages, each entered once:

1. ``preprocess``: bring the image to the model's working beam and pixel
   scale and stack its input channels, in units of the local noise
   (``model_input``);
2. ``models``: run the network over overlapping tiles and stitch them
   (:func:`~diffuseradio.models.predict_image`);
3. ``postprocess``: for a model whose card has an island stage, classify
   each island of emission as a whole and raise the probability over the
   diffuse ones (:func:`~diffuseradio.postprocess.island_stage`); bring the
   probabilities back to the input's pixels
   (:func:`~diffuseradio.postprocess.on_input_pixels`) and, in
   :meth:`DiffuseDetector.detect`, label the detections
   (:func:`~diffuseradio.postprocess.segment`);
4. ``catalog``: measure them on the input pixels
   (:class:`~diffuseradio.DetectionCatalog`).

``predict(..., return_stages=True)`` returns every intermediate result
(:class:`PredictionStages`).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np

from .catalog import DetectionCatalog
from .models import available_models, classify_cutouts, load_model, predict_image
from .models.device import select_device, select_precision, to_device
from .postprocess import InputGridMap, island_stage, on_input_pixels, segment
from .preprocess import embed_in_noise, model_input

__all__ = ["DiffuseDetector", "PredictionStages"]

#: Realisations of the noise around an image that fits in one tile, whose
#: network outputs are averaged (see :meth:`DiffuseDetector.predict`).
NOISE_REALISATIONS = 4


@dataclass(frozen=True)
class PredictionStages:
    """Every intermediate result of :meth:`DiffuseDetector.predict`.

    Attributes
    ----------
    matched : `~diffuseradio.SurveyMosaic`
        The image on the model's working grid (beam and pixel scale).
    network_input : numpy.ndarray
        float32 ``(channels, ny, nx)``: the normalised input channels on the
        working grid.
    network_probability : numpy.ndarray
        float32 ``(n_outputs, ny, nx)``: the segmentation network's
        probabilities on the working grid (with the background class first
        for a softmax model).
    island_labels : numpy.ndarray or None
        Integer ``(ny, nx)``: the islands of the island stage (0: none), or
        None for a model without one.
    island_ids : numpy.ndarray or None
        The labels of the islands the classifier scored.
    island_scores : numpy.ndarray or None
        Their probability of being diffuse emission.
    working_probability : numpy.ndarray
        ``network_probability`` after the island stage (the same array for a
        model without one).
    probability : numpy.ndarray
        What :meth:`DiffuseDetector.predict` returns: the diffuse classes on
        the input grid, NaN where the input is blanked.
    spread : numpy.ndarray or None
        With ``augment``: the per-pixel standard deviation over the
        augmentations of the segmentation network's probability, on the
        input grid.
    """

    matched: object
    network_input: np.ndarray
    network_probability: np.ndarray
    island_labels: np.ndarray | None
    island_ids: np.ndarray | None
    island_scores: np.ndarray | None
    working_probability: np.ndarray
    probability: np.ndarray
    spread: np.ndarray | None


@dataclass(frozen=True)
class _WorkingGridRun:
    """What :meth:`DiffuseDetector._on_working_grid` made (see :class:`PredictionStages`)."""

    matched: object
    image: np.ndarray
    network: np.ndarray
    islands: object
    working: np.ndarray
    spread: np.ndarray | None


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
        cls,
        name=None,
        version=None,
        device="auto",
        precision="auto",
        *,
        offline=None,
        progress=True,
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
        progress : bool, optional
            Show a progress bar while weights download.

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
        loaded = load_model(name, version, device, precision, offline=offline, progress=progress)
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
        augment=False,
        return_spread=False,
        return_stages=False,
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
            (see ``model_input``).
        batch_size : int, optional
            Tiles per forward pass.
        augment : bool, optional
            Test-time augmentation: average over the 8 rotations and flips of
            each tile, which makes the result exactly symmetric under them
            (the bundled networks, trained with these augmentations, still
            shift their output by up to one working beam without it). Off by
            default: it costs 8 forward passes per tile and did not move the
            shift benchmark beyond its counting noise (see the model zoo).
        return_spread : bool, optional
            Also return the per-pixel standard deviation over the
            augmentations (needs ``augment=True``) of the segmentation
            network's probability (the island stage's is not included).
        return_stages : bool, optional
            Return every intermediate result instead
            (:class:`PredictionStages`; its ``spread`` is filled with
            ``return_spread``).
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
        stages : PredictionStages
            Instead of both, with ``return_stages=True``.

        Raises
        ------
        diffuseradio.IncompatibleResolutionError
            If the image's beam is outside the range the model accepts, or a
            model with a native channel gets no native-resolution image.
        diffuseradio.InvalidImageError
            If the image is too small at the working resolution.

        Notes
        -----
        The network sees simulated noise like the image's own in the
        image's blanked pixels and around an image smaller than its tile
        (``diffuseradio.preprocess.embed_in_noise``): it was trained on
        tiles that are mostly noise. An image that fits in one tile is run
        with ``NOISE_REALISATIONS`` (4) realisations of that noise (fixed
        seeds), and the probabilities averaged.
        """
        if return_spread and not augment:
            raise ValueError("return_spread needs augment=True")
        run = self._on_working_grid(mosaic, native, batch_size, augment, progress)
        probability = on_input_pixels(self._diffuse_maps(run.working), run.matched, mosaic)
        if return_spread:
            spread = on_input_pixels(self._diffuse_maps(run.spread), run.matched, mosaic)
        if return_stages:
            return PredictionStages(
                matched=run.matched,
                network_input=run.image,
                network_probability=run.network,
                island_labels=None if run.islands is None else run.islands.labels,
                island_ids=None if run.islands is None else run.islands.ids,
                island_scores=None if run.islands is None else run.islands.scores,
                working_probability=run.working,
                probability=probability,
                spread=spread if return_spread else None,
            )
        return (probability, spread) if return_spread else probability

    def _channel_beam_pixels(self):
        """Per input channel, its beam's FWHM in working pixels."""
        card = self.card
        beams = [card.beam] if card.native_beam is None else [card.beam, card.native_beam]
        return [float(beam.major / card.pixel_scale) for beam in beams]

    def _on_working_grid(self, mosaic, native, batch_size, augment, progress):
        """The input, the network and the island stage on the working grid."""
        card = self.card
        matched, image = model_input(card, mosaic, native)
        network, spread = self._network(
            image, ~np.isfinite(matched.data), batch_size, augment, progress
        )
        islands = None
        working = network
        if card.islands is not None:
            islands = island_stage(
                image,
                network[-1],
                matched.beam_area_pixels,
                card.island_settings,
                lambda cutouts: self._classify_islands(cutouts, batch_size, augment),
                normalization=card.normalization,
            )
            working = network.copy()
            working[-1] = islands.probability
        return _WorkingGridRun(matched, image, network, islands, working, spread)

    def _network(self, image, blank, batch_size, augment, progress):
        """The segmentation network's probability (and spread) of the network input.

        With noise in the blanks and around an image smaller than a tile
        (``embed_in_noise``); an image that fits in one tile and got noise
        is run with ``NOISE_REALISATIONS`` realisations of it, averaged (the
        output of a post-stamp moves with the noise around it).
        """
        card = self.card
        single_tile = max(image.shape[-2:]) <= card.tile_size
        networks, spreads = [], []
        for seed in range(NOISE_REALISATIONS if single_tile else 1):
            embedded, window = embed_in_noise(
                image,
                card.tile_size,
                self._channel_beam_pixels(),
                blank=blank,
                name=card.normalization["name"],
                parameters=card.normalization.get("parameters"),
                seed=seed,
            )
            network, spread = predict_image(
                self.model,
                embedded,
                tile_size=card.tile_size,
                overlap=card.tile_overlap,
                batch_size=batch_size,
                device=self.device,
                precision=self.precision,
                probabilities=card.probabilities,
                augment=augment,
                progress=progress,
            )
            networks.append(network[(slice(None), *window)])
            if spread is not None:
                spreads.append(spread[(slice(None), *window)])
            if embedded is image:  # no noise was added: another run would be the same
                break
        return np.mean(networks, axis=0), np.mean(spreads, axis=0) if spreads else None

    def _classify_islands(self, cutouts, batch_size, augment):
        """The island classifier's probability that each cutout's island is diffuse."""
        return classify_cutouts(
            self.model.island_classifier,
            cutouts,
            batch_size=32 * batch_size,
            device=self.device,
            precision=self.precision,
            augment=augment,
        )

    def _diffuse_maps(self, probability):
        """Drop the background channel of a softmax output; squeeze one class."""
        maps = probability[1:] if probability.shape[0] > 1 else probability
        return maps[0] if maps.shape[0] == 1 else maps

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
        augment=False,
        progress=False,
        redshift=None,
        cosmology=None,
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
            Test-time augmentation (see :meth:`predict`; default False).
        progress : bool, optional
        redshift : float, optional
            Redshift of the emission, for physical sizes in the catalogue
            (also later, without the network:
            :meth:`DetectionCatalog.with_redshift`).
        cosmology : `~astropy.cosmology.Cosmology`, optional
            For the physical sizes (default Planck18).

        Returns
        -------
        DetectionCatalog
            Empty (with a warning) when nothing is found.
        """
        settings = self.card.detection_settings(threshold, low_threshold, min_area_beams)
        run = self._on_working_grid(mosaic, native, batch_size, augment, progress)
        maps = self._diffuse_maps(run.working)
        # made on the input's pixels where they are read, never whole
        probability = InputGridMap(maps, run.matched, mosaic)
        diffuse = (
            probability
            if maps.ndim == 2
            else InputGridMap(np.nansum(maps, axis=0), run.matched, mosaic)
        )
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
            mosaic,
            labels,
            probability,
            classes=classes,
            redshift=redshift,
            cosmology=cosmology,
            meta=meta,
        )
