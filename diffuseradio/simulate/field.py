"""Simulated survey fields with truth maps and object tables.

:class:`SkySimulator` draws a :class:`~diffuseradio.simulate.population.Population`
of sources, renders each into a beam-convolved image on a LoTSS-style grid,
adds beam-correlated noise and returns a :class:`SimulatedField`.

Definitions (all in terms of the *noiseless, beam-convolved* model of each
source, ``M``, and the local noise ``sigma`` of the field):

Truth map
    A pixel belongs to diffuse class ``c`` (1 halo/mini-halo, 2 relic,
    3 bridge/filament) where the summed model of class ``c`` exceeds
    ``k * sigma`` (``truth_threshold``, default ``k = 1``: where the diffuse
    emission contributes at least one noise unit per beam); where several
    classes pass, the brightest wins. Radio galaxies, compact sources and
    artefacts never enter the truth map.
Confuser mask
    Pixels where the summed model of resolved radio galaxies and artefacts
    has ``|M| > k * sigma`` (compact sources are not included).
Object region
    For one source, the pixels where its own ``M >= k * sigma``.
Integrated S/N
    ``S_region / (sigma_region * sqrt(N_beams))``: the flux density inside
    the object region divided by the noise of an integral over
    ``N_beams = N_pixels / beam_area_pixels`` independent beams, with the
    mean noise ``sigma_region`` in the region. A source is *detectable* when
    this is at least ``detection_snr`` (default 5) and the region covers at
    least one beam. Sources that nowhere reach ``k * sigma`` have an empty
    region, S/N 0, and are not detectable at this resolution.
Local S/N
    The same integral against the noise an observer's rms map would show
    there: ``sigma_local = sqrt(sigma^2 + A_rms^2)``, with ``A_rms`` the rms
    of the calibration artefacts' pattern (rings, spokes and bowl around
    bright compact sources) over a box of ``LOCAL_RMS_BOX_BEAMS`` beam
    widths, as a source finder's adaptive rms box measures near bright
    sources. Away from artefacts it equals the integrated S/N; a source
    lying on the artefacts of a bright source has a much lower one.

Extended sources are given a target integrated S/N by the population, and
their flux density is solved for so that the S/N defined above equals the
target.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from astropy.wcs import WCS
from radio_beam import Beam
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ..mosaic import SurveyMosaic
from .beam import PixelBeam
from .noise import correlated_noise, outside_circle, rms_variation
from .population import FieldGeometry, Population

__all__ = [
    "SkySimulator",
    "SimulatedField",
    "DIFFUSE_CLASSES",
    "DEFAULT_CENTER",
    "LOCAL_RMS_BOX_BEAMS",
]

#: Default field centre: in the LoTSS-DR1 HETDEX region (mosaic P205+55).
DEFAULT_CENTER = SkyCoord(205.0 * u.deg, 55.0 * u.deg)

#: Truth-map values of the diffuse classes (0 is background).
DIFFUSE_CLASSES = {1: "halo", 2: "relic", 3: "bridge"}

#: Side, in beam widths (FWHM), of the box over which the artefacts' local rms
#: is taken for the local S/N: small enough to follow the artefacts around a
#: bright source, as a source finder's adaptive rms box does there (PyBDSF's
#: ``rms_box_bright``), large enough to hold several of their rings and spokes.
LOCAL_RMS_BOX_BEAMS = 5.0


class SimulatedField:
    """One simulated field: image, truth, confusers and object table.

    Attributes
    ----------
    mosaic : `~diffuseradio.SurveyMosaic`
        The image in Jy/beam (float32) with a LoTSS-style header; its
        ``meta`` holds ``seed`` and ``index``.
    truth : numpy.ndarray
        uint8 class map: 0 background, 1 halo (and mini-halo), 2 relic,
        3 bridge/filament (see :data:`DIFFUSE_CLASSES`).
    confusers : numpy.ndarray
        bool mask of resolved radio galaxies and calibration artefacts.
    objects : `~astropy.table.QTable`
        One row per extended source (diffuse sources and radio galaxies):
        ``id``, ``kind``, ``class_id`` (truth class, 0 for radio galaxies),
        ``sky_centroid``, ``x``, ``y`` (placement position, pixels),
        ``redshift`` (NaN when not a cluster source), ``size`` (largest
        angular size of the object region, arcsec), ``flux_density`` (of the
        part inside the field, mJy), ``peak_snr`` and ``mean_snr`` (peak and
        mean of ``M / sigma`` over the region), ``n_beams`` (region area in
        beams), ``integrated_snr``, ``detectable`` and ``local_snr`` (the
        integrated S/N against the local noise with the artefacts, see the
        module docstring).
    diffuse : numpy.ndarray
        float32 noiseless beam-convolved model of all diffuse sources
        (Jy/beam).
    rms_map : numpy.ndarray
        float32 local noise level (Jy/beam).
    components : list of Placement
        The rendered sources with their final flux densities.
    instances : numpy.ndarray
        int32 map of object regions: the ``id`` of the object (row of
        ``objects``) whose own beam-convolved model is above ``k`` times the
        local noise there and brightest among the objects; 0 elsewhere. Used
        to count objects found and radio galaxies taken for diffuse emission.
    native : `~diffuseradio.SurveyMosaic` or None
        The same sky at the simulator's ``native_beam`` on a finer grid, with
        noise of its own; None unless asked for.
    """

    def __init__(
        self,
        mosaic,
        truth,
        confusers,
        objects,
        diffuse,
        rms_map,
        components,
        instances,
        native=None,
    ):
        self.mosaic = mosaic
        self.native = native
        self.truth = truth
        self.instances = instances
        self.confusers = confusers
        self.objects = objects
        self.diffuse = diffuse
        self.rms_map = rms_map
        self.components = components

    def __repr__(self):
        kinds = ", ".join(self.objects["kind"]) or "no extended sources"
        return f"<SimulatedField {self.mosaic.shape[0]}x{self.mosaic.shape[1]}: {kinds}>"


class SkySimulator:
    """Generator of LoTSS-like radio survey fields.

    Parameters
    ----------
    shape : int or tuple of int
        Field size in pixels (``n`` or ``(ny, nx)``).
    pixel_scale : `~astropy.units.Quantity`
        Pixel side (1.5" for LoTSS 6" images, 4.5" for 20" images).
    beam : `radio_beam.Beam` or `~astropy.units.Quantity`
        Restoring beam; an angle is a circular beam's FWHM.
    rms : `~astropy.units.Quantity`
        Noise per beam (Jy/beam), e.g. 80 uJy/beam for LoTSS-DR2.
    seed : int, optional
        Master seed; field ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``,
        so fields are reproducible bit-for-bit and independent across
        indices (training workers draw disjoint indices). Drawn at random
        (and kept in ``seed``) when omitted.
    frequency : `~astropy.units.Quantity`, optional
        Observing frequency (144 MHz), written as RESTFRQ; compact-source
        counts are scaled to it.
    center : `~astropy.coordinates.SkyCoord`, optional
        Sky position of the field centre (default ``DEFAULT_CENTER``).
    truth_threshold : float, optional
        ``k`` of the truth definition (module docstring), default 1.
    detection_snr : float, optional
        Integrated S/N above which an object is detectable (5).
    rms_variation : float, optional
        Standard deviation of the log of the smooth noise variation across
        the field (0.15; 0 for uniform noise).
    blank_radius : `~astropy.units.Quantity`, optional
        Blank (NaN) pixels farther than this from the centre, as in DR2
        mosaics; no blanking by default.
    population : Population, optional
        Source population; by default built from ``**settings``.
    native_beam : `radio_beam.Beam` or `~astropy.units.Quantity`, optional
        Also make each field's image at this finer resolution, as a survey's
        native image next to its tapered one (LoTSS: 6" and 20"), in
        ``SimulatedField.native``. Each extended source's sky model is
        then drawn once, on the native grid, convolved there with each beam,
        and the main image sampled at its pixel centres, so both images show
        the same sky (as if the main one were made from the native one, the
        way :meth:`~diffuseradio.SurveyMosaic.convolve_to` does); compact
        sources are exact Gaussians in both, and
        calibration artefacts (a pattern defined by the beam) are drawn at
        each beam with the same geometry. The native noise has its own
        random stream, ``native_rms`` and the same smooth variation across
        the field. Truth maps, object regions and S/N stay defined at
        ``beam``. The main image differs in texture detail from that of a
        simulator without ``native_beam``.
    native_rms : `~astropy.units.Quantity`, optional
        Noise per native beam (default: ``rms``).
    native_oversample : int, optional
        Native pixels per main pixel along each axis (4: 1.5" pixels under
        6" ones).
    **settings
        Keyword arguments of :class:`~diffuseradio.simulate.population.Population`
        (``halo_density``, ``relic_density``, ``radio_galaxy_density``,
        ``snr``, ``compact_min_snr``, ``artefact_snr``, ...).

    Examples
    --------
    >>> import astropy.units as u
    >>> sim = SkySimulator(256, 6 * u.arcsec, 20 * u.arcsec, 150 * u.uJy / u.beam,
    ...                    seed=1, halo_density=20 / u.deg**2)
    >>> field = sim.field(0)
    >>> field.mosaic.shape, field.truth.dtype.name
    ((256, 256), 'uint8')
    >>> field.objects.colnames[:4]
    ['id', 'kind', 'class_id', 'sky_centroid']
    """

    def __init__(
        self,
        shape,
        pixel_scale,
        beam,
        rms,
        *,
        seed=None,
        frequency=144 * u.MHz,
        center=DEFAULT_CENTER,
        truth_threshold=1.0,
        detection_snr=5.0,
        rms_variation=0.15,
        blank_radius=None,
        population=None,
        native_beam=None,
        native_rms=None,
        native_oversample=4,
        **settings,
    ):
        self.shape = (int(shape), int(shape)) if np.isscalar(shape) else tuple(map(int, shape))
        self.pixel_scale = u.Quantity(pixel_scale, u.arcsec)
        self.beam = beam if isinstance(beam, Beam) else Beam(u.Quantity(beam, u.arcsec))
        self.rms = u.Quantity(rms, u.Jy / u.beam)
        self.seed = np.random.SeedSequence().entropy if seed is None else int(seed)
        self.frequency = u.Quantity(frequency, u.MHz)
        self.center = center
        self.truth_threshold = float(truth_threshold)
        self.detection_snr = float(detection_snr)
        self.rms_variation = float(rms_variation)
        self.blank_radius = None if blank_radius is None else u.Quantity(blank_radius, u.arcsec)
        if population is not None and settings:
            raise TypeError("give either population or population settings, not both")
        self.population = population if population is not None else Population(**settings)
        self.pixel_beam = PixelBeam(self.beam, self.pixel_scale)
        self.wcs = self.field_wcs(self.shape, self.pixel_scale)
        self.native = None
        if native_beam is not None:
            self.native = _NativeGrid(self, native_beam, native_rms, native_oversample)

    def __repr__(self):
        return (
            f"<SkySimulator {self.shape[0]}x{self.shape[1]} x {self.pixel_scale:.3g}, "
            f"beam {self.beam.major.to(u.arcsec):.3g}, rms {self.rms.to(u.uJy / u.beam):.3g}, "
            f"seed {self.seed}>"
        )

    def field_wcs(self, shape, pixel_scale):
        """The WCS of a field grid: SIN projection centred on the field centre.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)``.
        pixel_scale : `~astropy.units.Quantity`
            Pixel side (finer grids of the same field share its outer edges).

        Returns
        -------
        `~astropy.wcs.WCS`
        """
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        scale = pixel_scale.to_value(u.deg)
        wcs.wcs.cdelt = [-scale, scale]
        icrs = self.center.icrs
        wcs.wcs.crval = [icrs.ra.deg, icrs.dec.deg]
        wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
        wcs.wcs.radesys = "ICRS"
        wcs.wcs.cunit = ["deg", "deg"]
        wcs.pixel_shape = shape[::-1]
        return wcs

    def fields(self, n, start=0):
        """Iterate over the fields ``start`` to ``start + n - 1``.

        Parameters
        ----------
        n : int
            Number of fields.
        start : int, optional
            First index.

        Yields
        ------
        SimulatedField
        """
        for index in range(start, start + n):
            yield self.field(index)

    def field(self, index=0):
        """Simulate field number ``index``.

        Parameters
        ----------
        index : int, optional
            Field index (any non-negative integer).

        Returns
        -------
        SimulatedField
        """
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(index),)))
        rms = self.rms.to_value(u.Jy / u.beam)
        beam = self.pixel_beam
        geometry = FieldGeometry(self.shape, beam, rms, self.frequency)
        placements, compact = self.population.draw(rng, geometry)

        rms_map = rms * rms_variation(self.shape, self.rms_variation, rng)
        image = correlated_noise(self.shape, beam, rng)
        image *= rms_map
        blank = None
        if self.blank_radius is not None:
            radius = (self.blank_radius / self.pixel_scale).to_value(u.one)
            blank = outside_circle(self.shape, radius)

        beam.add_gaussians(
            image,
            compact.x,
            compact.y,
            compact.flux,
            intrinsic=(compact.sigma_major, compact.sigma_minor, compact.position_angle),
        )
        render = _Renderer(self, rms_map, blank)
        components, rows = render.extended(placements)
        render.add_local_snr(rows)
        for model in (*render.classes.values(), render.confusing):
            image += model

        truth = render.truth()
        confusers = np.abs(render.confusing) > render.threshold
        if blank is not None:
            image[blank] = np.nan
            truth[blank] = 0
            confusers[blank] = False
        mosaic = SurveyMosaic(
            image,
            self.wcs.deepcopy(),
            beam=self.beam,
            frequency=self.frequency,
            meta={"seed": self.seed, "index": int(index)},
        )
        diffuse = sum(render.classes.values(), np.zeros(self.shape, np.float32))
        instances = render.instances
        if blank is not None:
            instances[blank] = 0
        native = None
        if self.native is not None:
            native = self.native.mosaic(index, render.native, compact, rms_map, blank)
        return SimulatedField(
            mosaic,
            truth,
            confusers,
            self._table(rows),
            diffuse,
            rms_map,
            components,
            instances,
            native=native,
        )

    def _table(self, rows):
        columns = [
            "id",
            "kind",
            "class_id",
            "x",
            "y",
            "redshift",
            "size",
            "flux_density",
            "peak_snr",
            "mean_snr",
            "n_beams",
            "integrated_snr",
            "detectable",
            "local_snr",
        ]
        values = {name: [row[name] for row in rows] for name in columns[1:]}
        x = np.asarray(values["x"], dtype=float)
        y = np.asarray(values["y"], dtype=float)
        table = QTable()
        table["id"] = np.arange(1, len(rows) + 1)
        table["kind"] = np.asarray(values["kind"], dtype="U8")
        table["class_id"] = np.asarray(values["class_id"], dtype=np.uint8)
        table["sky_centroid"] = self.wcs.pixel_to_world(x, y)
        table["x"] = x
        table["y"] = y
        table["redshift"] = np.asarray(values["redshift"], dtype=float)
        table["size"] = np.asarray(values["size"], dtype=float) * u.arcsec
        table["flux_density"] = np.asarray(values["flux_density"], dtype=float) * u.mJy
        for name in ("peak_snr", "mean_snr", "n_beams", "integrated_snr"):
            table[name] = np.asarray(values[name], dtype=float)
        table["detectable"] = np.asarray(values["detectable"], dtype=bool)
        table["local_snr"] = np.asarray(values["local_snr"], dtype=float)
        table.meta["truth_threshold"] = self.truth_threshold
        table.meta["detection_snr"] = self.detection_snr
        return table


class _Renderer:
    """Renders the extended sources of one field and measures them."""

    def __init__(self, simulator, rms_map, blank):
        self.simulator = simulator
        self.beam = simulator.pixel_beam
        self.shape = simulator.shape
        self.rms_map = rms_map
        self.blank = blank
        self.k = simulator.truth_threshold
        self.threshold = self.k * rms_map
        self.classes = {}
        self.confusing = np.zeros(self.shape, np.float32)
        self.artefacts = np.zeros(self.shape, np.float32)
        self.instances = np.zeros(self.shape, np.int32)
        self._instance_model = np.zeros(self.shape, np.float32)
        grid = simulator.native
        self.native = None if grid is None else np.zeros(grid.shape, np.float32)

    def extended(self, placements):
        """Render, scale to the target S/N, add to the class maps, measure."""
        components, rows = [], []
        for placement in placements:
            stamp, native = self._render(placement)
            if stamp is None:
                continue
            overlap = stamp.overlap(self.shape)
            if overlap is None:
                continue
            grid, part = overlap
            model = stamp.data[part]
            component = placement.component
            if placement.target_snr is not None:
                factor = self._scale_for_snr(model, grid, placement.target_snr)
                model = model * np.float32(factor)
                component = component.scaled(factor)
            else:
                factor = 1.0
            if native is not None:
                native.add_to(self.native, scale=np.float32(factor))
            components.append(placement._replace(component=component))
            truth_class = component.truth_class
            if truth_class:
                target = self.classes.setdefault(truth_class, np.zeros(self.shape, np.float32))
            else:
                target = self.confusing
            target[grid] += model
            if component.kind == "artefact":
                self.artefacts[grid] += model
            if placement.target_snr is not None:
                rows.append(self._measure(component, placement, model, grid))
                self._add_instance(len(rows), model, grid)
        return components, rows

    def _render(self, placement):
        """Images of a placement on the main grid and, when asked, the native one."""
        component, grid = placement.component, self.simulator.native
        if grid is None:
            return component.image(self.beam, placement.x, placement.y, window=self.shape), None
        x, y = grid.fine(placement.x), grid.fine(placement.y)
        if not hasattr(component, "sky_stamp"):  # artefacts: a pattern at each beam
            return (
                component.image(self.beam, placement.x, placement.y, window=self.shape),
                component.image(grid.beam, x, y, window=grid.shape),
            )
        margin = grid.main_beam.halfwidth + grid.factor
        sky = component.sky_stamp(grid.beam, x, y, window=grid.shape, margin=margin)
        if sky is None:
            return None, None
        main = grid.main_beam.convolve(sky).sampled(grid.factor)
        return main, grid.beam.convolve(sky)

    def _add_instance(self, ident, model, grid):
        """Mark the object's region (model above k sigma) where it is the brightest."""
        region = (model >= self.threshold[grid]) & (model > self._instance_model[grid])
        self.instances[grid][region] = ident
        self._instance_model[grid][region] = model[region]

    def _valid(self, grid):
        return None if self.blank is None else ~self.blank[grid]

    def _scale_for_snr(self, model, grid, target):
        """Factor by which to multiply ``model`` so its integrated S/N is ``target``.

        With pixels sorted by ``q = M / sigma`` (binned finely in log q), the
        region at scale ``a`` is ``q >= k / a``; for each candidate region
        the S/N is linear in ``a``, and the solution is the region that
        contains the scale it needs.
        """
        sigma = self.rms_map[grid]
        q = model / sigma
        valid = self._valid(grid)
        if valid is not None:
            q = np.where(valid, q, 0)
        top = q.max()
        if not top > 0:
            return 1.0
        keep = q > top * 1e-5
        log_q = np.log10(q[keep])
        bins = np.minimum(((np.log10(top) - log_q) * 200).astype(int), 999)
        weight_m = np.bincount(bins, weights=model[keep], minlength=1000)
        weight_s = np.bincount(bins, weights=sigma[keep], minlength=1000)
        count = np.bincount(bins, minlength=1000)
        n = np.cumsum(count)
        used = n > 0
        flux = np.cumsum(weight_m)[used] / self.beam.area
        mean_sigma = np.cumsum(weight_s)[used] / n[used]
        n_beams = n[used] / self.beam.area
        # Scale at which bin j's lower edge reaches the threshold.
        lower_q = top * 10 ** (-(np.arange(1000)[used] + 1) / 200.0)
        reach = self.k / lower_q
        need = target * mean_sigma * np.sqrt(n_beams) / flux
        fits = need <= reach
        return float(need[np.argmax(fits)] if fits.any() else need[-1])

    def _measure(self, component, placement, model, grid):
        sigma = self.rms_map[grid]
        ratio = model / sigma
        region = model >= self.k * sigma
        valid = self._valid(grid)
        if valid is not None:
            region &= valid
            ratio = np.where(valid, ratio, 0)
        n_pixels = int(region.sum())
        n_beams = n_pixels / self.beam.area
        area = self.beam.area
        region_flux = model[region].sum() / area
        if n_pixels:
            snr = region_flux / (sigma[region].mean() * np.sqrt(n_beams))
            mean = float(ratio[region].mean())
        else:
            snr = mean = 0.0
        redshift = getattr(component, "redshift", None)
        return {
            "kind": component.kind,
            "class_id": component.truth_class,
            "x": placement.x,
            "y": placement.y,
            "redshift": np.nan if redshift is None else redshift,
            "size": _largest_extent(region) * self.beam.pixel_scale.to_value(u.arcsec),
            "flux_density": model.sum() / area * 1e3,
            "peak_snr": float(ratio.max()),
            "mean_snr": mean,
            "n_beams": n_beams,
            "integrated_snr": float(snr),
            "detectable": bool(snr >= self.simulator.detection_snr and n_beams >= 1),
            "_region": (grid, region, region_flux),
        }

    def add_local_snr(self, rows):
        """Give each measured row its ``local_snr`` (see the module docstring).

        Run once all sources are rendered: an artefact may lie on a source
        rendered before it.
        """
        local = self.rms_map.astype(np.float64)
        if self.artefacts.any():
            fwhm = self.beam.sigma_major * np.sqrt(8 * np.log(2))
            box = max(1, round(LOCAL_RMS_BOX_BEAMS * fwhm))
            power = ndimage.uniform_filter(np.square(self.artefacts, dtype=np.float64), box)
            local = np.sqrt(np.square(local) + power)
        for row in rows:
            grid, region, region_flux = row.pop("_region")
            n_beams = row["n_beams"]
            noise = local[grid][region].mean() * np.sqrt(n_beams) if n_beams > 0 else np.inf
            row["local_snr"] = float(region_flux / noise)

    def truth(self):
        """Class map: the brightest diffuse class above the threshold."""
        truth = np.zeros(self.shape, np.uint8)
        best = self.threshold.copy()
        for truth_class, model in sorted(self.classes.items()):
            brighter = model > best
            truth[brighter] = truth_class
            np.maximum(best, model, out=best)
        return truth


class _NativeGrid:
    """The finer grid and beam of a simulator's native images."""

    def __init__(self, simulator, beam, rms, oversample):
        if int(oversample) != oversample or oversample < 1:
            raise ValueError(f"native_oversample must be a positive integer, got {oversample}")
        self.simulator = simulator
        self.factor = int(oversample)
        self.beam_model = beam if isinstance(beam, Beam) else Beam(u.Quantity(beam, u.arcsec))
        self.rms = u.Quantity(simulator.rms if rms is None else rms, u.Jy / u.beam)
        self.shape = tuple(n * self.factor for n in simulator.shape)
        scale = simulator.pixel_scale / self.factor
        self.beam = PixelBeam(self.beam_model, scale)
        self.main_beam = PixelBeam(simulator.beam, scale)
        self.wcs = simulator.field_wcs(self.shape, scale)

    def fine(self, coordinate):
        """Native pixel coordinate of a main-grid one (pixel centres line up)."""
        return self.factor * np.asarray(coordinate, dtype=float) + (self.factor - 1) / 2

    def _finer(self, array):
        return np.repeat(np.repeat(array, self.factor, axis=0), self.factor, axis=1)

    def mosaic(self, index, extended, compact, rms_map, blank):
        """The native image: noise, compact sources and the extended ones."""
        simulator = self.simulator
        seed = np.random.SeedSequence(simulator.seed, spawn_key=(int(index), 1))
        image = correlated_noise(self.shape, self.beam, np.random.default_rng(seed))
        ratio = (self.rms / simulator.rms).to_value(u.one)
        image *= self._finer(rms_map) * np.float32(ratio)
        self.beam.add_gaussians(
            image,
            self.fine(compact.x),
            self.fine(compact.y),
            compact.flux,
            intrinsic=(
                self.factor * np.asarray(compact.sigma_major),
                self.factor * np.asarray(compact.sigma_minor),
                compact.position_angle,
            ),
        )
        image += extended
        if blank is not None:
            image[self._finer(blank)] = np.nan
        return SurveyMosaic(
            image,
            self.wcs.deepcopy(),
            beam=self.beam_model,
            frequency=simulator.frequency,
            meta={"seed": simulator.seed, "index": int(index)},
        )


def _largest_extent(mask):
    """Largest distance (pixels) between two pixel centres of a mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0.0
    # Extreme points of each row are the only convex-hull candidates.
    first = mask[rows].argmax(axis=1)
    last = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    points = np.unique(np.concatenate([np.c_[first, rows], np.c_[last, rows]]), axis=0)
    if len(points) > 3:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:  # all points on a line
            pass
    difference = points[:, None, :] - points[None, :, :]
    return float(np.sqrt((difference**2).sum(-1)).max())
