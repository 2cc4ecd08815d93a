"""The network input of a model: one channel per image resolution.

Astronomers tell diffuse emission from compact sources with two
resolutions: the tapered image shows what is diffuse, the native one what
is compact. A model card lists its input channels:

- ``"tapered"``: the image at the working beam and pixel scale
  (:func:`~diffuseradio.preprocess.working_grid.to_working_grid`), in units of its local
  noise (:func:`~diffuseradio.preprocess.normalization.network_input`);
- ``"native"`` (optional, second): the image at a finer beam (e.g. LoTSS 6"),
  averaged over each working pixel (:func:`~diffuseradio.mosaic.regrid.pixel_average`)
  and normalised the same way, with noise boxes of the same size on the sky.

:func:`model_input` builds both from one native-resolution image (the
tapered channel is then its convolution to the working beam) or from a
tapered image and a native one of the same field.
"""

import numpy as np

from ..exceptions import IncompatibleResolutionError, InvalidImageError
from ..mosaic.regrid import pixel_average
from .normalization import network_input
from .working_grid import TOLERANCE, to_working_grid

__all__ = ["model_input", "stack_channels", "working_mosaic"]

#: Smallest image side, in working-grid pixels, a model is run on.
MIN_SIDE_PIXELS = 8


def model_input(card, mosaic, native=None):
    """Bring images to a model's working grid and stack its input channels.

    Parameters
    ----------
    card : `~diffuseradio.models.ModelCard`
    mosaic : `~diffuseradio.SurveyMosaic`
        The image the model runs on: for a one-channel model any image in
        its accepted beam range; for a model with a native channel, the
        native-resolution image (beam no coarser than the channel's), unless
        ``native`` is given, when it is the tapered image.
    native : `~diffuseradio.SurveyMosaic`, optional
        Only for models with a native channel: the native-resolution image
        of the same field, on a grid that is a finer version of ``mosaic``'s
        (same projection and centre), e.g. the LoTSS 6" mosaic next to the
        20" one.

    Returns
    -------
    matched : `~diffuseradio.SurveyMosaic`
        ``mosaic`` on the working grid.
    image : numpy.ndarray
        float32 ``(channels, ny, nx)`` network input on ``matched``'s grid.

    Raises
    ------
    IncompatibleResolutionError
        If a beam is outside what the model accepts; the message says what
        would work.
    InvalidImageError
        If the image is smaller than :data:`MIN_SIDE_PIXELS` at the working grid.
    ValueError
        If ``native`` is given to a one-channel model.
    """
    beam = card.native_beam
    if beam is None and native is not None:
        raise ValueError(
            f"model {card.identifier} has one input channel (tapered) and takes no native image"
        )
    if beam is not None and native is None:
        if mosaic.beam.major > beam.major * (1 + TOLERANCE):
            raise IncompatibleResolutionError(
                f"model {card.identifier} needs the image at native resolution too (beam <= "
                f"{beam.major.to_value('arcsec'):.3g} arcsec), but this one has a "
                f"{mosaic.beam.major.to_value('arcsec'):.3g} arcsec beam: pass the native image "
                "as well (native=...), or use a one-channel model such as lotss-diffuse-unet"
            )
        native = mosaic
    matched = working_mosaic(card, mosaic)
    if min(matched.shape) < MIN_SIDE_PIXELS:
        raise InvalidImageError(
            f"the image is {matched.shape[0]}x{matched.shape[1]} pixels at the model's "
            f"working resolution; at least {MIN_SIDE_PIXELS} pixels are needed"
        )
    return matched, stack_channels(matched, native, native_beam=beam, **card.normalization)


def working_mosaic(card, mosaic):
    """An image brought to a model's working beam and pixel scale.

    Parameters
    ----------
    card : `~diffuseradio.models.ModelCard`
    mosaic : `~diffuseradio.SurveyMosaic`
        An image whose beam the model accepts.

    Returns
    -------
    `~diffuseradio.SurveyMosaic`
        :func:`~diffuseradio.preprocess.working_grid.to_working_grid` with the card's
        working beam, pixel scale and accepted beam range.

    Raises
    ------
    IncompatibleResolutionError
        If the beam is outside what the model accepts.
    """
    matched, _ = to_working_grid(
        mosaic,
        working_beam=card.beam,
        working_pixel_scale=card.pixel_scale,
        accepted_range=card.accepted_beam_range,
    )
    return matched


def stack_channels(
    matched,
    native=None,
    *,
    native_beam=None,
    name="snr_asinh",
    parameters=None,
    rms_box_beams=30.0,
):
    """Normalise the tapered image and, when asked, the native one: the network input.

    Parameters
    ----------
    matched : `~diffuseradio.SurveyMosaic`
        The image on the working grid (tapered channel).
    native : `~diffuseradio.SurveyMosaic`, optional
        The native-resolution image; convolved to ``native_beam`` when finer,
        then averaged over the working pixels.
    native_beam : `radio_beam.Beam`, optional
        Beam of the native channel; None for a one-channel input.
    name, parameters, rms_box_beams
        The normalisation (a model card's ``normalization``); the native
        channel's noise boxes have the same size on the sky as the tapered
        one's.

    Returns
    -------
    numpy.ndarray
        float32 ``(1, ny, nx)`` or ``(2, ny, nx)``.
    """
    tapered, _ = network_input(
        matched, name=name, parameters=parameters, rms_box_beams=rms_box_beams
    )
    if native_beam is None:
        return tapered[None]
    native = _at_beam(native, native_beam)
    averaged = pixel_average(native, matched)
    box_beams = rms_box_beams * float(matched.beam.major / native_beam.major)
    native_image, _ = network_input(
        averaged, name=name, parameters=parameters, rms_box_beams=box_beams
    )
    return np.stack([tapered, native_image])


def _at_beam(native, beam):
    """The native image convolved to ``beam`` (unchanged if it already has it)."""
    major, minor = native.beam.major, native.beam.minor
    if major > beam.major * (1 + TOLERANCE):
        raise IncompatibleResolutionError(
            f"the native image's beam ({major.to_value('arcsec'):.3g} arcsec) is coarser than "
            f"the {beam.major.to_value('arcsec'):.3g} arcsec the model's native channel works at"
        )
    if major < beam.major * (1 - TOLERANCE) or minor < beam.minor * (1 - TOLERANCE):
        return native.convolve_to(beam)
    return native
