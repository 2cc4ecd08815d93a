"""Injection of mock sources into real images.

Completeness on real noise and real artefacts, and upper limits on radio
halo flux densities, are measured by adding mock sources to real images and
trying to find them again (image-plane injection, e.g. Bruno et al. 2023 for
LoTSS-DR2 halo upper limits; Botteon et al. 2022).
"""

import astropy.units as u
import numpy as np

from ..mosaic import SurveyMosaic
from .beam import PixelBeam

__all__ = ["inject"]


def inject(mosaic, component, position, *, threshold=1.0, rms=None):
    """Add a simulated source to a real image.

    The component is rendered on the mosaic's grid, convolved with the
    mosaic's beam (Jy/pixel to Jy/beam through the beam area in pixels) and
    added to a copy of the data; blanked pixels stay blanked. Position angles
    assume the usual north-up, east-left orientation of the image.

    Parameters
    ----------
    mosaic : `~diffuseradio.SurveyMosaic`
        The real image.
    component : `~diffuseradio.simulate.Component` or `~diffuseradio.simulate.CalibrationArtefact`
        What to inject, e.g. a :class:`~diffuseradio.simulate.RadioHalo`.
    position : `~astropy.coordinates.SkyCoord`
        Where to put the component's centre.
    threshold : float, optional
        ``k`` of the truth map: pixels where the injected model reaches
        ``k`` times the noise.
    rms : `~astropy.units.Quantity`, optional
        Noise level (scalar or map, Jy/beam) for the truth map; default the
        mosaic's robust global rms.

    Returns
    -------
    injected : `~diffuseradio.SurveyMosaic`
        A new mosaic with the component added.
    truth : numpy.ndarray
        uint8 map on the same grid: the component's truth class (1 halo,
        2 relic, 3 bridge; 0 for non-diffuse components) where its model is
        at least ``threshold * rms``, 0 elsewhere.

    Raises
    ------
    ValueError
        If the component falls entirely outside the image.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.wcs import WCS
    >>> from diffuseradio.mosaic import SurveyMosaic
    >>> from diffuseradio.simulate import RadioHalo
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    >>> wcs.wcs.cdelt = [-6 / 3600, 6 / 3600]
    >>> wcs.wcs.crval = [207.15, 55.19]
    >>> wcs.wcs.crpix = [64.5, 64.5]
    >>> image = SurveyMosaic(np.zeros((128, 128)), wcs, beam=20 * u.arcsec)
    >>> halo = RadioHalo(50 * u.mJy, e_folding_radius=60 * u.arcsec, seed=0)
    >>> centre = wcs.pixel_to_world(63.5, 63.5)
    >>> injected, truth = inject(image, halo, centre, rms=1e-4 * u.Jy / u.beam)
    >>> flux = injected.data.sum() / injected.beam_area_pixels  # Jy
    >>> round(float(flux), 4), int(truth.max())
    (0.05, 1)
    """
    beam = PixelBeam(mosaic.beam, mosaic.pixel_scale)
    x, y = (float(v) for v in mosaic.wcs.world_to_pixel(position))
    stamp = component.image(beam, x, y, window=mosaic.shape)
    overlap = None if stamp is None else stamp.overlap(mosaic.shape)
    if overlap is None:
        raise ValueError(f"{component!r} at {position} falls outside the image")
    grid, part = overlap
    data = np.array(mosaic.data, dtype=np.result_type(mosaic.data.dtype, np.float32))
    stamp.add_to(data)

    noise = mosaic.rms if rms is None else u.Quantity(rms, u.Jy / u.beam)
    noise = np.broadcast_to(noise.to_value(u.Jy / u.beam), mosaic.shape)
    truth = np.zeros(mosaic.shape, np.uint8)
    inside = (stamp.data[part] >= threshold * noise[grid]) & np.isfinite(data[grid])
    truth[grid][inside] = component.truth_class
    injected = SurveyMosaic(
        data, mosaic.wcs.deepcopy(), beam=mosaic.beam, frequency=mosaic.frequency, meta=mosaic.meta
    )
    return injected, truth
