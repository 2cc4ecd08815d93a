"""Bringing an image to a model's working resolution.

Diffuse emission is found best, and most cheaply, at a resolution coarser
than a survey's native one. A model works at a beam and pixel scale given in
its card (e.g. 20" at 6" pixels). :func:`working_grid` decides how any input
gets there:

- inputs with a beam finer than the working beam are convolved to it
  (integrated flux densities conserved) and resampled to the working pixel
  scale (surface brightness conserved);
- inputs with a coarser beam keep their beam's major axis (an elliptical
  beam is convolved to the round beam of its major axis, as round as the
  working beam) and are resampled so that the beam spans as many pixels as
  the working beam does (the network works in units of beams);
- inputs outside the accepted range of beams are refused, with the reason.

Both the detector and the training on users' own images call
:func:`to_working_grid`. Models with a second, native-resolution input
channel see the native image averaged over each working pixel
(:func:`~diffuseradio.mosaic.regrid.pixel_average`); maps made on the working
grid go back to the input's with
:func:`~diffuseradio.postprocess.on_input_pixels`.
"""

from dataclasses import dataclass

import astropy.units as u
from radio_beam import Beam

from ..exceptions import IncompatibleResolutionError

__all__ = ["WorkingGrid", "working_grid", "to_working_grid", "TOLERANCE"]

#: Relative difference below which beams and pixel scales count as equal.
TOLERANCE = 0.02


@dataclass(frozen=True)
class WorkingGrid:
    """Where an input is taken to.

    Attributes
    ----------
    beam : radio_beam.Beam
        The beam after matching.
    pixel_scale : astropy.units.Quantity
        The pixel side after matching.
    convolve : bool
        Whether the input is convolved (its beam is finer than the working one).
    resample : bool
        Whether the input is resampled.
    """

    beam: Beam
    pixel_scale: u.Quantity
    convolve: bool
    resample: bool


def working_grid(beam, pixel_scale, *, working_beam, working_pixel_scale, accepted_range):
    """Decide the beam and pixel scale an input is brought to.

    Parameters
    ----------
    beam : radio_beam.Beam
        The input's beam.
    pixel_scale : astropy.units.Quantity
        The input's pixel side.
    working_beam : radio_beam.Beam
        The model's working beam.
    working_pixel_scale : astropy.units.Quantity
        The model's pixel side at the working beam.
    accepted_range : astropy.units.Quantity
        ``[min, max]`` major axis of the input beams the model accepts.

    Returns
    -------
    WorkingGrid

    Raises
    ------
    IncompatibleResolutionError
        If the input beam is outside ``accepted_range``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from radio_beam import Beam
    >>> grid = working_grid(Beam(6 * u.arcsec), 1.5 * u.arcsec, working_beam=Beam(20 * u.arcsec),
    ...                     working_pixel_scale=6 * u.arcsec,
    ...                     accepted_range=[4, 90] * u.arcsec)
    >>> grid.beam.major.to(u.arcsec), grid.pixel_scale, grid.convolve
    (<Quantity 20. arcsec>, <Quantity 6. arcsec>, True)
    >>> working_grid(Beam(60 * u.arcsec), 6 * u.arcsec, working_beam=Beam(20 * u.arcsec),
    ...              working_pixel_scale=6 * u.arcsec,
    ...              accepted_range=[4, 90] * u.arcsec).pixel_scale
    <Quantity 18. arcsec>
    """
    major = beam.major.to(u.arcsec)
    low, high = u.Quantity(accepted_range, u.arcsec)
    if major < low * (1 - TOLERANCE) or major > high * (1 + TOLERANCE):
        working = working_beam.major.to_value(u.arcsec)
        advice = (
            f"convolve it to at least {low.value:.3g} arcsec first"
            if major < low
            else f"the model was not trained on beams coarser than {high.value:.3g} arcsec"
        )
        raise IncompatibleResolutionError(
            f"the image's beam ({major.value:.3g} arcsec) is outside the "
            f"{low.value:.3g}-{high.value:.3g} arcsec range this model accepts (it works at "
            f"{working:.3g} arcsec): {advice}"
        )
    ratio = float(major / working_beam.major)
    if ratio <= 1 + TOLERANCE:
        convolve = ratio < 1 - TOLERANCE or beam.minor < working_beam.minor * (1 - TOLERANCE)
        target_beam = working_beam if convolve else beam
        target_pixel = u.Quantity(working_pixel_scale, u.arcsec)
    else:  # coarser: kept, made round (as the working beam is) where it is elliptical
        convolve = beam.minor < major * (1 - TOLERANCE)
        target_beam = Beam(major) if convolve else beam
        target_pixel = u.Quantity(working_pixel_scale, u.arcsec) * ratio
    resample = abs(float(pixel_scale / target_pixel) - 1) > TOLERANCE
    return WorkingGrid(target_beam, target_pixel.to(u.arcsec), convolve, resample)


def to_working_grid(mosaic, *, working_beam, working_pixel_scale, accepted_range):
    """Convolve and resample a mosaic as :func:`working_grid` decides.

    Parameters
    ----------
    mosaic : diffuseradio.SurveyMosaic
    working_beam, working_pixel_scale, accepted_range
        As in :func:`working_grid` (from a model card).

    Returns
    -------
    matched : diffuseradio.SurveyMosaic
        The image at the working resolution (``mosaic`` itself when nothing
        needed doing).
    grid : WorkingGrid
    """
    grid = working_grid(
        mosaic.beam,
        mosaic.pixel_scale,
        working_beam=working_beam,
        working_pixel_scale=working_pixel_scale,
        accepted_range=accepted_range,
    )
    if grid.resample:
        matched = mosaic.smooth_and_resample(grid.beam, grid.pixel_scale)
    elif grid.convolve:
        matched = mosaic.convolve_to(grid.beam)
    else:
        matched = mosaic
    return matched, grid
