"""Tests of diffuseradio.simulate: the physics of the simulated sky."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.modeling import fitting, models
from astropy.table import QTable
from astropy.wcs import WCS
from radio_beam import Beam
from reproject import reproject_interp

from diffuseradio.mosaic import SurveyMosaic
from diffuseradio.simulate import (
    FRII,
    Bridge,
    CalibrationArtefact,
    CompactSource,
    HeadTail,
    MiniHalo,
    Population,
    RadioHalo,
    RadioRelic,
    RemnantRadioGalaxy,
    SkySimulator,
    SourceCounts,
    inject,
    write_field,
    write_fields,
)
from diffuseradio.simulate.beam import PixelBeam
from diffuseradio.simulate.noise import correlated_noise

RMS = 80 * u.uJy / u.beam
NONE = 0 / u.deg**2
QUIET = dict(
    halo_density=NONE,
    minihalo_density=NONE,
    relic_density=NONE,
    bridge_density=NONE,
    filament_density=NONE,
    radio_galaxy_density=NONE,
)


@pytest.fixture(scope="module")
def lotss_beam():
    return PixelBeam(Beam(6 * u.arcsec), 1.5 * u.arcsec)


@pytest.fixture(scope="module")
def busy():
    """A 20"-resolution field with many diffuse sources and radio galaxies."""
    simulator = SkySimulator(
        384,
        6 * u.arcsec,
        20 * u.arcsec,
        150 * u.uJy / u.beam,
        seed=11,
        halo_density=6 / u.deg**2,
        relic_density=4 / u.deg**2,
        bridge_density=2 / u.deg**2,
        radio_galaxy_density=25 / u.deg**2,
    )
    return simulator, simulator.field(2)


def test_noise_rms_matches_request(lotss_beam):
    simulator = SkySimulator(
        1024,
        1.5 * u.arcsec,
        6 * u.arcsec,
        RMS,
        seed=1,
        rms_variation=0,
        compact_min_snr=np.inf,
        artefact_snr=np.inf,
        **QUIET,
    )
    data = simulator.field(0).mosaic.data
    assert data.std() == pytest.approx(RMS.to_value(u.Jy / u.beam), rel=0.03)
    # Correlated by the beam: neighbouring pixels of a 6" beam at 1.5" are
    # correlated as exp(-d^2 / (4 sigma^2)) for d = 1 pixel.
    lag = (data[:, 1:] * data[:, :-1]).mean() / data.var()
    assert lag == pytest.approx(np.exp(-1 / (4 * lotss_beam.sigma_major**2)), abs=0.01)


def test_unit_noise_any_shape(lotss_beam):
    noise = correlated_noise((300, 701), lotss_beam, np.random.default_rng(3))
    assert noise.shape == (300, 701)
    assert noise.std() == pytest.approx(1.0, rel=0.03)


def test_point_source_is_the_beam():
    beam = PixelBeam(Beam(major=9 * u.arcsec, minor=6 * u.arcsec, pa=30 * u.deg), 1.5 * u.arcsec)
    stamp = CompactSource(25 * u.mJy).image(beam, 20.3, 19.6)
    data = stamp.data.astype(float)
    assert data.sum() / beam.area == pytest.approx(0.025, rel=1e-5)
    y, x = np.mgrid[: data.shape[0], : data.shape[1]]
    guess = models.Gaussian2D(data.max(), 20, 20, 2, 2, 0)
    fit = fitting.LevMarLSQFitter()(guess, x + stamp.x0, y + stamp.y0, data)
    fwhm = np.sort([fit.x_fwhm, fit.y_fwhm]) * 1.5
    assert fwhm == pytest.approx([6.0, 9.0], rel=0.01)
    assert (fit.x_mean.value, fit.y_mean.value) == pytest.approx((20.3, 19.6), abs=1e-3)
    flux = 2 * np.pi * fit.amplitude * fit.x_stddev * fit.y_stddev / beam.area
    assert flux == pytest.approx(0.025, rel=0.01)
    # Position angle east of north: the major axis points to (-sin 30, cos 30).
    major = fit.theta.value + (np.pi / 2 if fit.x_fwhm < fit.y_fwhm else 0)
    direction = np.array([np.cos(major), np.sin(major)])
    assert abs(direction @ [-0.5, np.sqrt(3) / 2]) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(
    "component",
    [
        RadioHalo(20 * u.mJy, e_folding_radius=150 * u.kpc, redshift=0.2, ellipticity=0.3, seed=1),
        MiniHalo(5 * u.mJy, e_folding_radius=40 * u.kpc, redshift=0.1, seed=2),
        RadioRelic(30 * u.mJy, length=1 * u.Mpc, width=80 * u.kpc, redshift=0.1, seed=3),
        Bridge(10 * u.mJy, length=2 * u.Mpc, width=400 * u.kpc, redshift=0.2, seed=4),
        FRII(200 * u.mJy, size=120 * u.arcsec, seed=5),
        HeadTail(80 * u.mJy, size=90 * u.arcsec, seed=6),
        RemnantRadioGalaxy(15 * u.mJy, size=200 * u.arcsec, seed=7),
    ],
    ids=lambda c: c.kind,
)
def test_components_conserve_flux(component, lotss_beam):
    sky = component.sky_model(1.5 * u.arcsec, 10.4, -3.2)
    assert sky.data.sum() == pytest.approx(component.flux_density.to_value(u.Jy), rel=1e-5)
    assert (sky.data >= 0).all()
    image = component.image(lotss_beam, 10.4, -3.2)
    assert image.data.sum() / lotss_beam.area == pytest.approx(sky.data.sum(), rel=1e-4)
    # Same seed, same model.
    assert np.array_equal(component.sky_model(1.5 * u.arcsec, 10.4, -3.2).data, sky.data)


def test_halo_profile_is_exponential():
    halo = RadioHalo(
        central_brightness=2 * u.uJy / u.arcsec**2, e_folding_radius=30 * u.arcsec, turbulence=0
    )
    sky = halo.sky_model(2 * u.arcsec)  # centred on pixel (0, 0) of the grid
    centre = -sky.y0
    profile = sky.data[centre, centre:] / 2.0**2  # Jy/arcsec^2
    radius = np.arange(profile.size) * 2.0
    expected = 2e-6 * np.exp(-radius / 30.0)
    inside = radius < 170
    assert profile[inside] == pytest.approx(expected[inside], rel=1e-3)
    assert halo.central_brightness.to_value(u.uJy / u.arcsec**2) == pytest.approx(2.0)


def test_large_component_is_binned_but_exact(lotss_beam):
    halo = RadioHalo(100 * u.mJy, e_folding_radius=300 * u.kpc, redshift=0.05, turbulence=0)
    image = halo.image(lotss_beam, 150.0, 150.0, window=(300, 300))
    inside = halo.image(lotss_beam, 150.0, 150.0)
    grid = np.zeros((300, 300), np.float32)
    image.add_to(grid)
    full = np.zeros((300, 300), np.float32)
    inside.add_to(full)
    # Rendered on 3x3-pixel blocks (the stamp is > 1024 pixels), then smoothed by the beam.
    assert image.data.shape[0] < inside.data.shape[0]
    assert grid.sum() == pytest.approx(full.sum(), rel=1e-3)
    assert np.abs(grid - full).max() < 1e-3 * full.max()


def test_source_counts_match_lotss_dr1():
    counts = SourceCounts()
    # LoTSS-DR1 P205+55 + P218+55 source list: 314 / deg^2 above 1 mJy, 9.5 above 100 mJy.
    assert counts.cumulative(1 * u.mJy).to_value(u.deg**-2) == pytest.approx(314, rel=0.1)
    assert counts.cumulative(100 * u.mJy).to_value(u.deg**-2) == pytest.approx(9.5, rel=0.1)
    flux = counts.sample(100 * u.deg**2, 10 * u.mJy, 10 * u.Jy, np.random.default_rng(0))
    expected = (counts.cumulative(10 * u.mJy) - counts.cumulative(10 * u.Jy)) * 100 * u.deg**2
    assert len(flux) == pytest.approx(expected.to_value(u.one), rel=0.05)
    above = (flux > 100 * u.mJy).sum() / len(flux)
    assert above == pytest.approx(
        (counts.cumulative(100 * u.mJy) / counts.cumulative(10 * u.mJy)).value, rel=0.1
    )


def test_same_seed_same_field_and_indices_differ():
    a = SkySimulator(128, 6 * u.arcsec, 20 * u.arcsec, RMS, seed=5, halo_density=50 / u.deg**2)
    b = SkySimulator(128, 6 * u.arcsec, 20 * u.arcsec, RMS, seed=5, halo_density=50 / u.deg**2)
    first, again = a.field(3), b.field(3)
    assert np.array_equal(first.mosaic.data, again.mosaic.data)
    assert np.array_equal(first.truth, again.truth)
    assert np.array_equal(first.objects["flux_density"], again.objects["flux_density"])
    assert not np.array_equal(first.mosaic.data, a.field(4).mosaic.data)


def test_mosaic_header_is_lotss_like(busy):
    _, field = busy
    header = field.mosaic.header
    assert (header["CTYPE1"], header["CTYPE2"]) == ("RA---SIN", "DEC--SIN")
    assert header["BMAJ"] * 3600 == pytest.approx(20.0)
    assert header["BUNIT"] == "JY/BEAM"
    assert header["RESTFRQ"] == pytest.approx(144e6)
    assert field.mosaic.data.dtype == np.float32


def test_truth_follows_the_definition(busy):
    simulator, field = busy
    threshold = simulator.truth_threshold * field.rms_map
    diffuse = field.truth > 0
    assert {1, 2} <= set(np.unique(field.truth))
    # Every diffuse pixel has model >= k sigma; every pixel above it is diffuse.
    assert (field.diffuse[diffuse] >= threshold[diffuse] * (1 - 1e-6)).all()
    assert not (field.diffuse[~diffuse] > threshold[~diffuse] * (1 + 1e-6)).any()
    objects = field.objects
    assert (objects["integrated_snr"] > 0).any()
    detectable = objects["integrated_snr"] >= simulator.detection_snr
    assert np.array_equal(objects["detectable"], detectable & (objects["n_beams"] >= 1))


def test_radio_galaxies_never_in_truth(busy):
    simulator, field = busy
    galaxies = field.objects[field.objects["class_id"] == 0]
    assert len(galaxies) >= 3
    assert field.confusers.any()
    # Re-render each radio galaxy: its bright pixels are confusers; where no
    # diffuse source is brighter, they are background in the truth map.
    for placement in field.components:
        component = placement.component
        if component.truth_class or placement.target_snr is None:
            continue
        stamp = component.image(
            simulator.pixel_beam, placement.x, placement.y, window=simulator.shape
        )
        grid, part = stamp.overlap(simulator.shape)
        bright = stamp.data[part] > 5 * field.rms_map[grid]
        assert field.confusers[grid][bright].all()
        quiet = bright & (field.diffuse[grid] < simulator.truth_threshold * field.rms_map[grid])
        assert (field.truth[grid][quiet] == 0).all()


def test_target_snr_is_reached(busy):
    _, field = busy
    targets = [p.target_snr for p in field.components if p.target_snr is not None]
    measured = field.objects["integrated_snr"]
    reached = np.isclose(measured, targets, rtol=0.05)
    # Only sources that fall partly outside the field may miss their target.
    assert reached.mean() > 0.7


def test_local_snr_counts_the_artefacts():
    """Against the noise of the artefacts around bright sources a source near them is
    fainter; without artefacts the local S/N is the integrated S/N."""
    kwargs = dict(seed=3, halo_density=60 / u.deg**2, minihalo_density=60 / u.deg**2)
    shape = (256, 6 * u.arcsec, 20 * u.arcsec, 100 * u.uJy / u.beam)
    clean = SkySimulator(*shape, artefact_snr=np.inf, **kwargs).field(0).objects
    np.testing.assert_allclose(clean["local_snr"], clean["integrated_snr"], rtol=1e-6)
    field = SkySimulator(*shape, artefact_snr=100, **kwargs).field(0)
    measured = field.objects[field.objects["integrated_snr"] > 0]
    ratio = measured["local_snr"] / measured["integrated_snr"]
    assert ratio.max() <= 1 + 1e-6
    assert ratio.min() < 0.2
    # The most affected source lies within the artefacts' reach (15 beams) of
    # the bright source of one of the patterns.
    worst = measured[np.argmin(ratio)]
    centres = [(p.x, p.y) for p in field.components if p.component.kind == "artefact"]
    distance = min(np.hypot(worst["x"] - x, worst["y"] - y) for x, y in centres)
    assert distance * 6 < 15 * 20


def test_blanking_outside_circle():
    simulator = SkySimulator(
        200,
        6 * u.arcsec,
        20 * u.arcsec,
        RMS,
        seed=2,
        blank_radius=8 * u.arcmin,
        halo_density=100 / u.deg**2,
    )
    field = simulator.field(0)
    assert np.isnan(field.mosaic.data[0, 0]) and np.isfinite(field.mosaic.data[100, 100])
    assert field.truth[0, 0] == 0 and not field.confusers[0, 0]
    assert np.isnan(field.mosaic.data).mean() == pytest.approx(1 - np.pi * 80**2 / 200**2, abs=0.01)


def test_injected_halo_flux_recovered(lotss_beam):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    wcs.wcs.crval = [150.0, 30.0]
    wcs.wcs.crpix = [200.5, 200.5]
    blank = SurveyMosaic(np.zeros((400, 400)), wcs, beam=6 * u.arcsec)
    halo = RadioHalo(30 * u.mJy, e_folding_radius=25 * u.arcsec, seed=4)
    injected, truth = inject(blank, halo, wcs.pixel_to_world(199.5, 199.5), rms=RMS)
    flux = injected.data.sum() / injected.beam_area_pixels
    assert flux == pytest.approx(0.030, rel=0.02)
    assert set(np.unique(truth)) == {0, 1}
    assert (injected.data[truth == 1] >= RMS.to_value(u.Jy / u.beam)).all()


def test_injection_into_real_lotss(real_data_path):
    path = real_data_path("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")
    real = SurveyMosaic.read(path)
    halo = RadioHalo(40 * u.mJy, e_folding_radius=150 * u.kpc, redshift=0.15, seed=3)
    position = real.wcs.pixel_to_world(299.5, 299.5)
    injected, truth = inject(real, halo, position)
    difference = (injected.data - real.data).sum() / real.beam_area_pixels
    assert difference == pytest.approx(0.040, rel=0.02)
    assert injected.beam == real.beam and injected.shape == real.shape
    assert truth.dtype == np.uint8 and (truth == 1).sum() > 0
    with pytest.raises(ValueError, match="outside the image"):
        inject(real, halo, real.wcs.pixel_to_world(5000, 5000))


def test_artefact_has_negative_bowl(lotss_beam):
    stamp = CalibrationArtefact(1 * u.Jy, seed=1).image(lotss_beam)
    centre = -stamp.y0, -stamp.x0
    assert stamp.data[centre] < 0
    assert np.abs(stamp.data).max() < 0.01


def test_write_fields(tmp_path):
    simulator = SkySimulator(
        64, 6 * u.arcsec, 20 * u.arcsec, RMS, seed=1, halo_density=200 / u.deg**2
    )
    stems = write_fields(simulator, 2, tmp_path, progress=False)
    assert [s.name for s in stems] == ["field_00000", "field_00001"]
    image = SurveyMosaic.read(f"{stems[1]}.image.fits")
    field = simulator.field(1)
    assert np.array_equal(image.data, field.mosaic.data)
    assert np.array_equal(fits.getdata(f"{stems[1]}.truth.fits"), field.truth)
    objects = QTable.read(f"{stems[1]}.objects.ecsv")
    assert list(objects["kind"]) == list(field.objects["kind"])
    assert not list(tmp_path.glob(".*tmp"))


def test_physical_size_needs_redshift():
    with pytest.raises(ValueError, match="needs a redshift"):
        RadioHalo(1 * u.mJy, e_folding_radius=100 * u.kpc)
    with pytest.raises(ValueError, match="exactly one"):
        RadioHalo(e_folding_radius=10 * u.arcsec)


def test_instance_regions_match_objects():
    """Every measured object has its own region; diffuse regions lie in the truth."""
    import astropy.units as u
    import numpy as np

    from diffuseradio.simulate import SkySimulator

    field = SkySimulator(256, 6 * u.arcsec, 20 * u.arcsec, 100 * u.uJy / u.beam, seed=3).field(0)
    ids = set(np.unique(field.instances)) - {0}
    assert ids <= set(field.objects["id"])
    for row in field.objects:
        region = field.instances == row["id"]
        if row["class_id"] > 0 and region.any():
            # A diffuse object's region is (mostly) diffuse truth of some class.
            assert (field.truth[region] > 0).mean() > 0.9
        if row["n_beams"] > 1:
            assert region.any()


def test_population_settings_accept_plain_numbers_in_default_units():
    population = Population(minihalo_density=3, halo_radius=[40, 200], snr={"relic": [5, 500]})
    assert population.minihalo_density == 3 / u.deg**2
    np.testing.assert_array_equal(population.halo_radius, [40, 200] * u.kpc)
    assert population.snr["relic"] == [5, 500]
    assert population.snr["halo"] == (3.0, 300.0)
    with pytest.raises(u.UnitsError, match="minihalo_density must be in units of 1 / deg2"):
        Population(minihalo_density=3 * u.kpc)


NATIVE_SKY = dict(
    seed=3,
    rms_variation=0.0,
    halo_density=30 / u.deg**2,
    radio_galaxy_density=100 / u.deg**2,
    artefact_snr=1e9,  # artefacts are drawn per beam, not from one sky
)


def native_simulator(size, native_rms, **sky):
    """20" fields at 6" pixels (100 uJy/beam) with 6" images at 1.5" pixels."""
    return SkySimulator(
        size,
        6 * u.arcsec,
        20 * u.arcsec,
        100 * u.uJy / u.beam,
        native_beam=6 * u.arcsec,
        native_rms=native_rms,
        **sky,
    )


def test_native_image_shows_the_same_sky_as_the_tapered_one():
    """The 6" image, convolved to 20" as detection does, gives the 20" image plus its noise."""
    rms = 100 * u.uJy / u.beam
    # A noiseless native image, so that the residual is the 20" noise.
    field = native_simulator(256, 0.001 * u.uJy / u.beam, **NATIVE_SKY).field(0)
    native = field.native
    assert native.shape == (1024, 1024)
    assert u.isclose(native.pixel_scale, 1.5 * u.arcsec)
    assert native.beam == Beam(6 * u.arcsec)
    main = field.mosaic.wcs.pixel_to_world([0, 100, 255], [0, 50, 255])
    fine = native.wcs.pixel_to_world([1.5, 401.5, 1021.5], [1.5, 201.5, 1021.5])
    assert main.separation(fine).max() < 1e-3 * u.arcsec
    tapered = native.convolve_to(field.mosaic.beam)
    derived, _ = reproject_interp(
        (tapered.data, tapered.wcs), field.mosaic.wcs, shape_out=field.mosaic.shape
    )
    inner = (slice(30, -30), slice(30, -30))  # sources crossing the edges differ
    residual = (field.mosaic.data - derived)[inner] / rms.to_value(u.Jy / u.beam)
    assert np.nanstd(field.mosaic.data[inner]) / rms.to_value(u.Jy / u.beam) > 100
    low, quartile, median, high = np.nanpercentile(residual, [1, 25, 50, 99])
    assert abs(median) < 0.1 and -0.8 < quartile < -0.55  # unit Gaussian noise: -0.67
    assert -2.8 < low and high < 2.8
    peak = np.nanmax(field.mosaic.data[inner]) / rms.to_value(u.Jy / u.beam)
    assert np.nanmax(np.abs(residual)) < 0.01 * peak + 5  # interpolation at the brightest peaks


def test_native_noise_and_settings(tmp_path):
    rms = 100 * u.uJy / u.beam
    quiet = {**NATIVE_SKY, "halo_density": 0 / u.deg**2, "radio_galaxy_density": 0 / u.deg**2}
    simulator = native_simulator(128, 50 * u.uJy / u.beam, **quiet)
    native = simulator.field(1).native
    assert native.rms.to_value(u.uJy / u.beam) == pytest.approx(50, rel=0.05)
    default = SkySimulator(128, 6 * u.arcsec, 20 * u.arcsec, rms, native_beam=6 * u.arcsec, **quiet)
    assert default.field(1).native.rms.to_value(u.uJy / u.beam) == pytest.approx(100, rel=0.05)
    assert SkySimulator(128, 6 * u.arcsec, 20 * u.arcsec, rms, **quiet).field(1).native is None
    paths = write_field(simulator.field(1), tmp_path / "pair")
    assert [p.name for p in paths][-1] == "pair.native.fits"
    again = SurveyMosaic.read(paths[-1])
    assert again.shape == (512, 512) and again.beam == Beam(6 * u.arcsec)
    assert np.array_equal(again.data, native.data, equal_nan=True)
    with pytest.raises(ValueError, match="native_oversample must be a positive integer"):
        SkySimulator(
            128, 6 * u.arcsec, 20 * u.arcsec, rms, native_beam=6 * u.arcsec, native_oversample=2.5
        )


def test_a_component_smaller_than_a_pixel_renders_as_a_point():
    """A mini-halo of 15 kpc at z = 0.5 (2.4") on 27" pixels (a 90" beam's grid)
    reaches no pixel centre: it is rendered unresolved, its flux density kept."""
    mini = MiniHalo(5 * u.mJy, e_folding_radius=15 * u.kpc, redshift=0.5, seed=1)
    stamp = mini.sky_model(27 * u.arcsec, x=10.4, y=7.6)
    assert stamp.data.sum() == pytest.approx(5e-3, rel=1e-6)
    assert np.count_nonzero(stamp.data) == 1
