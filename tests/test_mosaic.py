"""SurveyMosaic: reading real radio images, noise, tiles, cut-outs, resolution."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import CCDData, NDData
from astropy.wcs import WCS
from helpers import lotss_wcs
from radio_beam import Beam

from diffuseradio import (
    DiffuseRadioWarning,
    IncompatibleResolutionError,
    InvalidImageError,
    MissingBeamError,
    SurveyMosaic,
)
from diffuseradio.mosaic.reading import release_pages, row_strips
from diffuseradio.mosaic.tiling import TileStitcher, tile_slices

A2744 = ("vla_A2744_halo", "A2744_JVLA.image.fits")
P205 = ("lotss_dr1_P205+55_field", "LoTSS_DR1_P205+55_cutout_600px.fits")
P218 = ("lotss_dr1_P218+55_field", "LoTSS_DR1_P218+55_cutout_200px.fits")
RXCJ1825 = (
    "lofar_RXCJ1825_halo",
    "RXCJ1825.3+3026_masksubROBUST-0.5TAPER30-MFS-image_corrected.fits",
)
FORNAX_VLA = ("vla_fornaxA_1p5GHz", "NGC_1316_I_20cm_fev1989_i.fits")
GLEAM_A2744 = (
    "gleam_clusters_170-231MHz_clipped",
    "TEST_DATA_1__abell_2744_Gleam170-231_clipped.fits",
)
MWA_A0122 = ("mwa_phase2_clusters_clipped", "abell0122field1118mhzr0.0_Halo.fits")


def point_source_mosaic(shape=(201, 203), beam=6 * u.arcsec, flux=0.1 * u.Jy, pixel=(101, 97)):
    """A noiseless image of one point source, sampled from the beam."""
    wcs = lotss_wcs(shape)
    scale = 1.5 * u.arcsec
    beam = Beam(beam)
    kernel = beam.as_kernel(scale, x_size=61, y_size=61).array
    kernel /= kernel.sum()
    image = np.zeros(shape)
    y, x = pixel
    image[y - 30 : y + 31, x - 30 : x + 31] = kernel
    mosaic = SurveyMosaic(image, wcs, beam=beam)
    # Jy/pixel -> Jy/beam: multiply by the beam area in pixels.
    mosaic.data *= flux.to_value(u.Jy) * mosaic.beam_area_pixels
    return mosaic


def integrated_flux(mosaic):
    return np.nansum(mosaic.data) / mosaic.beam_area_pixels * u.Jy


# ------------------------------------------------------------ real images


def test_read_vla_a2744_4d(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*A2744))
    assert mosaic.shape == (384, 384)
    assert mosaic.wcs.naxis == 2
    assert mosaic.beam.major.to_value(u.arcsec) == pytest.approx(13.23, abs=0.01)
    assert mosaic.pixel_scale.to_value(u.arcsec) == pytest.approx(4.0, rel=1e-6)
    assert mosaic.frequency.to_value(u.GHz) == pytest.approx(1.5187, abs=1e-4)
    assert mosaic.unit == u.Jy / u.beam
    centre = mosaic.wcs.pixel_to_world(191.5, 191.5).icrs
    assert centre.ra.deg == pytest.approx(3.588, abs=0.002)
    assert centre.dec.deg == pytest.approx(-30.391, abs=0.002)


def test_read_lotss_dr1_memory_mapped(real_data_path):
    path = real_data_path(*P205)
    mosaic = SurveyMosaic.read(path)
    assert mosaic.shape == (600, 600)
    assert mosaic.data.dtype == np.dtype(">f8")
    assert _is_memory_mapped(mosaic.data)
    assert mosaic.beam.major.to_value(u.arcsec) == pytest.approx(6.0)
    assert mosaic.pixel_scale.to_value(u.arcsec) == pytest.approx(1.5)
    assert mosaic.frequency.to_value(u.MHz) == pytest.approx(143.65)
    assert mosaic.beam_area_pixels == pytest.approx(18.13, abs=0.01)
    # SOURCE.md: robust sigma ~69 uJy/beam (plain MAD, no clipping).
    assert mosaic.rms.to_value(u.uJy / u.beam) == pytest.approx(69, rel=0.05)
    assert mosaic.meta["path"] == str(path)


def test_memory_mapped_pixels_are_read_only_and_released_strip_by_strip(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    assert not mosaic.data.flags.writeable  # released pages would lose writes
    with pytest.raises(ValueError, match="read-only"):
        mosaic.data[0, 0] = 1.0
    copy = np.array(mosaic.data)
    strips = list(row_strips(mosaic.data, rows=77))
    assert [start for start, _ in strips] == list(range(0, 600, 77))
    np.testing.assert_array_equal(np.concatenate([s for _, s in strips]), copy.astype(np.float32))
    release_pages(mosaic.data)
    np.testing.assert_array_equal(mosaic.data, copy)  # read again from the file


def test_writable_memory_maps_are_not_released(tmp_path):
    path = tmp_path / "scratch.dat"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=(64, 64))
    mapped[:] = 5.0
    mapped.flush()
    private = np.memmap(path, dtype=np.float32, mode="c", shape=(64, 64))
    private[0, 0] = -1.0  # a write into a private (copy-on-write) mapping
    release_pages(private)
    assert private[0, 0] == -1.0


def test_read_lofar_rxcj1825_negative_crval(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*RXCJ1825))
    assert mosaic.shape == (613, 613)
    assert mosaic.beam.major.to_value(u.arcsec) == pytest.approx(60.0)
    centre = mosaic.wcs.pixel_to_world(306, 306).icrs
    assert centre.ra.deg == pytest.approx(276.29, abs=0.01)
    assert centre.dec.deg == pytest.approx(30.41, abs=0.01)


def test_read_fornax_beam_from_aips_history_scaled_ints(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*FORNAX_VLA))
    assert mosaic.beam.major.to_value(u.arcsec) == pytest.approx(14.0, abs=0.01)
    assert mosaic.data.dtype.kind == "f"  # BSCALE/BZERO applied
    assert np.nanmax(mosaic.data) == pytest.approx(0.1233, abs=1e-4)
    # B1950 coordinates: the frame is FK4, and the position converts to ICRS.
    centre = mosaic.wcs.pixel_to_world(255.5, 255.5)
    assert centre.frame.name == "fk4"
    ngc1316 = SkyCoord("03h22m41.7s", "-37d12m30s")
    assert centre.icrs.separation(ngc1316) < 5 * u.arcmin
    # A constant fill value outside the primary beam does not zero the noise.
    assert mosaic.rms.to_value(u.mJy / u.beam) == pytest.approx(0.45, rel=0.15)


@pytest.mark.parametrize("name", [GLEAM_A2744, MWA_A0122])
def test_missing_beam_and_unit(real_data_path, name):
    path = real_data_path(*name)
    with pytest.raises(MissingBeamError, match="beam="):
        SurveyMosaic.read(path)
    with pytest.warns(DiffuseRadioWarning, match="no BUNIT in the header; assuming Jy/beam"):
        mosaic = SurveyMosaic.read(path, beam=2.2 * u.arcmin)
    assert mosaic.beam.major == 2.2 * u.arcmin


def test_rms_map_on_lotss(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    rms = mosaic.rms_map(box=60)
    assert rms.unit == u.Jy / u.beam
    assert rms.shape == mosaic.shape
    assert rms.dtype == np.float32
    median = np.median(rms.to_value(u.uJy / u.beam))
    assert median == pytest.approx(mosaic.rms.to_value(u.uJy / u.beam), rel=0.15)


def test_rms_matches_injected_noise_and_map_follows_gradient(rng):
    shape = (400, 400)
    sigma = np.linspace(50e-6, 150e-6, shape[1])[None, :]
    image = rng.normal(size=shape) * sigma
    image[:40] = np.nan
    mosaic = SurveyMosaic(image, lotss_wcs(shape), beam=6 * u.arcsec)
    rms = mosaic.rms_map(box=40).to_value(u.Jy / u.beam)
    assert np.isnan(rms[:40]).all()
    inner = rms[100:300, 60:340]
    truth = np.broadcast_to(sigma, shape)[100:300, 60:340]
    assert np.median(np.abs(inner / truth - 1)) < 0.05
    assert mosaic.rms.to_value(u.Jy / u.beam) == pytest.approx(np.mean(sigma), rel=0.1)


# --------------------------------------------------------- input kinds


def test_accepts_every_input_kind(real_data_path):
    path = real_data_path(*P218)
    reference = SurveyMosaic.read(path)
    with fits.open(path) as hdul:
        data, header = hdul[0].data, hdul[0].header
        from_hdul = SurveyMosaic.read(hdul)
        from_hdu = SurveyMosaic.read(hdul[0])
        from_pair_header = SurveyMosaic.read((data, header))
        beam = from_hdu.beam
        from_pair_wcs = SurveyMosaic.read((data, WCS(header)), beam=beam, unit="Jy/beam")
        from_nddata = SurveyMosaic.read(NDData(data, wcs=WCS(header), unit="Jy/beam"), beam=beam)
        from_ccd = SurveyMosaic.read(CCDData(data, wcs=WCS(header), unit="mJy/beam"), beam=beam)
        for mosaic in (from_hdul, from_hdu, from_pair_header, from_pair_wcs, from_nddata):
            np.testing.assert_array_equal(mosaic.data, reference.data)
            assert mosaic.wcs.wcs.compare(reference.wcs.wcs)
            assert mosaic.beam == reference.beam
        np.testing.assert_allclose(from_ccd.data, reference.data * 1e-3)


def test_extension_hdu_and_stokes_before_freq(tmp_path, rng):
    wcs = WCS(naxis=4)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN", "STOKES", "FREQ"]
    wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600, 1, 1e6]
    wcs.wcs.crval = [150.0, 2.0, 1, 144e6]
    wcs.wcs.crpix = [20, 15, 1, 1]
    header = wcs.to_header()
    header.update(Beam(6 * u.arcsec).to_header_keywords())
    header["BUNIT"] = "mJy/beam"
    data = rng.normal(size=(1, 1, 30, 40)).astype(np.float32)
    path = tmp_path / "ext.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header, name="IMAGE")]).writeto(path)
    mosaic = SurveyMosaic.read(path)
    assert mosaic.shape == (30, 40)
    assert mosaic.frequency.to_value(u.MHz) == pytest.approx(144.0)
    np.testing.assert_allclose(mosaic.data, data[0, 0] * 1e-3, rtol=1e-6)
    assert SurveyMosaic.read(path, hdu="IMAGE").shape == (30, 40)
    with pytest.raises(InvalidImageError, match="no HDU 5"):
        SurveyMosaic.read(path, hdu=5)


def test_scaled_integers_with_blank(tmp_path):
    shape = (20, 30)
    header = lotss_wcs(shape).to_header()
    header.update(Beam(6 * u.arcsec).to_header_keywords())
    header["BUNIT"] = "JY/BEAM"
    raw = np.arange(600, dtype=np.int16).reshape(shape)
    raw[0, 0] = -32768
    hdu = fits.PrimaryHDU(raw, header)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 1e-6, 1e-3, -32768
    path = tmp_path / "scaled.fits"
    hdu.writeto(path)
    mosaic = SurveyMosaic.read(path)
    assert np.isnan(mosaic.data[0, 0])
    assert mosaic.data[0, 1] == pytest.approx(1e-3 + 1e-6)


@pytest.mark.parametrize(
    "spelling", ["JY/BEAM", "Jy/beam", "Jy beam-1", "JY/BEAM  ", "mJy/beam", "MJY/BEAM"]
)
def test_unit_spellings(spelling):
    image = np.ones((10, 10))
    mosaic = SurveyMosaic(image, lotss_wcs(image.shape), beam=6 * u.arcsec, unit=spelling)
    expected = 1e-3 if spelling.lower().startswith("mjy") else 1.0
    assert mosaic.data[0, 0] == pytest.approx(expected)


def test_write_read_round_trip(tmp_path, real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*A2744))
    path = tmp_path / "a2744.fits"
    mosaic.write(path)
    again = SurveyMosaic.read(path)
    np.testing.assert_array_equal(again.data, mosaic.data)
    for attribute in ("ctype", "crval", "crpix", "cdelt", "pc"):
        np.testing.assert_array_equal(
            getattr(again.wcs.wcs, attribute), getattr(mosaic.wcs.wcs, attribute)
        )
    assert again.wcs.wcs.radesys == mosaic.wcs.wcs.radesys
    assert again.beam == mosaic.beam
    assert again.frequency == mosaic.frequency
    with pytest.raises(FileExistsError):
        mosaic.write(path)
    assert [p.name for p in tmp_path.iterdir()] == ["a2744.fits"]  # no temporaries


# ------------------------------------------------------------ bad input


def test_not_a_fits_file(tmp_path):
    path = tmp_path / "catalogue.fits"
    path.write_text("ra,dec\n1,2\n")
    with pytest.raises(InvalidImageError, match="not a FITS file"):
        SurveyMosaic.read(path)
    with pytest.raises(FileNotFoundError):
        SurveyMosaic.read(tmp_path / "missing.fits")


def test_no_image_hdu(tmp_path):
    path = tmp_path / "table.fits"
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    with pytest.raises(InvalidImageError, match="no image HDU"):
        SurveyMosaic.read(path)


def test_cube_refused(tmp_path):
    wcs = WCS(naxis=3)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN", "FREQ"]
    wcs.wcs.cdelt = [-1e-3, 1e-3, 1e6]
    header = wcs.to_header()
    header.update(Beam(6 * u.arcsec).to_header_keywords())
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((3, 10, 10), dtype=np.float32), header).writeto(path)
    with pytest.raises(InvalidImageError, match="cube: axis 3 .FREQ. has 3 planes"):
        SurveyMosaic.read(path)


def test_non_celestial_wcs_refused(tmp_path):
    header = fits.Header({"CTYPE1": "LINEAR", "CTYPE2": "LINEAR", "BMAJ": 1e-3, "BMIN": 1e-3})
    with pytest.raises(InvalidImageError, match="no celestial WCS"):
        SurveyMosaic.read((np.zeros((10, 10)), header))
    with pytest.raises(InvalidImageError, match="celestial"):
        SurveyMosaic(np.zeros((10, 10)), WCS(naxis=2), beam=6 * u.arcsec)


def test_all_nan_refused(tmp_path):
    mosaic = SurveyMosaic(np.full((10, 10), np.nan), lotss_wcs((10, 10)), beam=6 * u.arcsec)
    path = tmp_path / "blank.fits"
    mosaic.write(path)
    with pytest.raises(InvalidImageError, match="entirely blanked"):
        SurveyMosaic.read(path)


@pytest.mark.parametrize("unit", ["K", "Jy", "count"])
def test_non_surface_brightness_refused(unit):
    with pytest.raises(InvalidImageError, match="not a surface brightness"):
        SurveyMosaic(np.ones((10, 10)), lotss_wcs((10, 10)), beam=6 * u.arcsec, unit=unit)


def test_wrong_input_types():
    with pytest.raises(TypeError, match="cannot read an image"):
        SurveyMosaic.read(42)
    with pytest.raises(TypeError, match="beam"):
        SurveyMosaic(np.ones((10, 10)), lotss_wcs((10, 10)), beam=6.0)
    with pytest.raises(InvalidImageError, match="too small"):
        SurveyMosaic(np.ones((1, 10)), lotss_wcs((1, 10)), beam=6 * u.arcsec)


# ---------------------------------------------------------------- tiles


def test_tiles_cover_odd_image_with_nan_border_and_round_trip(rng):
    shape = (517, 389)
    image = rng.normal(size=shape).astype(np.float32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image[(yy - 258) ** 2 + (xx - 194) ** 2 > 140**2] = np.nan  # DR2-like circle
    mosaic = SurveyMosaic(image, lotss_wcs(shape), beam=6 * u.arcsec)
    tiles = list(mosaic.tiles(128, 24))
    stitcher = TileStitcher(shape, 24)
    for tile in tiles:
        assert tile.data.shape == (128, 128)  # edge tiles shifted, never padded
        assert not np.isnan(tile.data).all()
        stitcher.add(tile.slices, tile.data)
    np.testing.assert_array_equal(stitcher.result(), image)
    # The four corner tiles are entirely blanked and skipped.
    assert len(tiles) < len(tile_slices(shape, 128, 24))


def test_tile_wcs_matches_parent(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    for tile in mosaic.tiles(256, 64):
        y0, x0 = tile.slices[0].start, tile.slices[1].start
        for x, y in [(0, 0), (255, 0), (17, 201)]:
            sky_tile = tile.wcs.pixel_to_world(x, y)
            sky_parent = mosaic.wcs.pixel_to_world(x + x0, y + y0)
            assert sky_tile.separation(sky_parent) < 1e-6 * u.arcsec
        assert tile.data[5, 7] == mosaic.data[y0 + 5, x0 + 7]


def test_tiles_in_angular_units():
    mosaic = SurveyMosaic(np.ones((100, 100)), lotss_wcs((100, 100)), beam=6 * u.arcsec)
    tiles = list(mosaic.tiles(1 * u.arcmin, 6 * u.arcsec))
    assert tiles[0].data.shape == (40, 40)
    assert tiles[1].slices[1].start == 36


# ------------------------------------------------------------- cut-outs


def test_cutout_at_sky_position(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*P205))
    position = mosaic.wcs.pixel_to_world(300, 250)
    cut = mosaic.cutout(position, 1.5 * u.arcmin)
    assert cut.shape == (60, 60)
    assert cut.beam == mosaic.beam
    x, y = cut.wcs.world_to_pixel(position)
    assert x == pytest.approx(round(float(x)), abs=1e-6)
    assert y == pytest.approx(round(float(y)), abs=1e-6)
    assert cut.data[round(float(y)), round(float(x))] == mosaic.data[250, 300]
    edge = mosaic.cutout(mosaic.wcs.pixel_to_world(0, 0), 30)
    assert np.isnan(edge.data[:10, :10]).all()  # outside the image: blanked
    far = SkyCoord(10, -40, unit="deg")
    with pytest.raises(ValueError, match="does not overlap"):
        mosaic.cutout(far, 1 * u.arcmin)


# ----------------------------------------------------------- resolution


def test_convolve_to_conserves_point_source_flux():
    mosaic = point_source_mosaic()
    assert integrated_flux(mosaic).to_value(u.Jy) == pytest.approx(0.1, rel=1e-3)
    smoothed = mosaic.convolve_to(Beam(20 * u.arcsec, 15 * u.arcsec, 30 * u.deg))
    assert smoothed.beam.major == 20 * u.arcsec
    assert integrated_flux(smoothed).to_value(u.Jy) == pytest.approx(0.1, rel=0.01)
    # For a point source the peak in Jy/beam equals the flux density.
    assert np.nanmax(smoothed.data) == pytest.approx(0.1, rel=0.02)


def test_convolve_to_keeps_blanks_and_refuses_smaller_beam(real_data_path):
    mosaic = point_source_mosaic()
    mosaic.data[:20] = np.nan
    smoothed = mosaic.convolve_to(12 * u.arcsec)
    assert np.isnan(smoothed.data[:20]).all()
    assert np.isfinite(smoothed.data[20:]).all()
    with pytest.raises(IncompatibleResolutionError, match="smaller"):
        mosaic.convolve_to(3 * u.arcsec)


def test_resample_matches_reproject(real_data_path):
    from reproject import reproject_interp

    mosaic = SurveyMosaic.read(real_data_path(*P218)).convolve_to(20 * u.arcsec)
    coarse = mosaic.resample(6 * u.arcsec)
    assert coarse.pixel_scale.to_value(u.arcsec) == pytest.approx(6.0)
    assert coarse.shape == (50, 50)
    expected, _ = reproject_interp(
        (mosaic.data, mosaic.wcs), coarse.wcs, shape_out=coarse.shape, order="bilinear"
    )
    # The bilinear sampling is done in float32: 1.7e-10 Jy/beam apart at most (measured).
    assert coarse.data.dtype == np.float32
    np.testing.assert_allclose(coarse.data, expected, rtol=1e-6, atol=1e-6 * mosaic.rms.value)
    # Same sky: the outer pixel edges coincide.
    corner_old = mosaic.wcs.pixel_to_world(-0.5, -0.5)
    corner_new = coarse.wcs.pixel_to_world(-0.5, -0.5)
    assert corner_old.separation(corner_new) < 1e-3 * u.arcsec
    # Surface brightness is conserved: the peak of a 20" beam stays put.
    assert np.nanmax(coarse.data) == pytest.approx(np.nanmax(mosaic.data), rel=0.1)
    with pytest.raises(IncompatibleResolutionError, match="undersample"):
        mosaic.resample(15 * u.arcsec)


def _is_memory_mapped(array):
    while array is not None:
        if isinstance(array, np.memmap) or type(array).__name__ == "mmap":
            return True
        array = getattr(array, "base", None)
    return False


def test_rms_map_of_a_heavily_blanked_image(real_data_path):
    """The MeerKAT El Gordo image is 61 % blanked: no box is half unblanked."""
    mosaic = SurveyMosaic.read(
        real_data_path("meerkat_ElGordo_diffuse", "ElGordo_hres_sync_blanked.fits")
    )
    rms = mosaic.rms_map()
    blank = ~np.isfinite(mosaic.data)
    assert blank.mean() > 0.5
    np.testing.assert_array_equal(np.isnan(rms), blank)
    assert np.all(rms[~blank] > 0)


def test_an_elliptical_beam_convolves_to_the_circular_beam_of_its_major_axis():
    """A 20" x 12.5" beam to a 20" circular one needs a kernel of zero width along
    the major axis: the target is reached enlarged until the kernel is two pixels
    wide (21.6" at 4" pixels), and the result is that beam, flux conserved."""
    from radio_beam import Beam

    beam = Beam(20 * u.arcsec, 12.5 * u.arcsec, 30 * u.deg)
    # A 1 Jy point source seen with that beam, at 4" pixels.
    point = beam.as_kernel(4 * u.arcsec, x_size=201, y_size=201).array
    shape = point.shape
    mosaic = SurveyMosaic(point / point.max(), lotss_wcs(shape, 4 * u.arcsec), beam=beam)
    total = np.sum(mosaic.data) / mosaic.beam_area_pixels
    assert total == pytest.approx(1.0, rel=0.01)
    for smoothed in (
        mosaic.convolve_to(20 * u.arcsec),
        mosaic.smooth_and_resample(20 * u.arcsec, 6 * u.arcsec),
    ):
        assert smoothed.beam.major.to_value(u.arcsec) == pytest.approx(21.6)
        assert smoothed.beam.minor == smoothed.beam.major
        flux = np.nansum(smoothed.data) / smoothed.beam_area_pixels
        assert flux == pytest.approx(total, rel=2e-3)
    # On its own pixels, a point source of 1 Jy peaks at 1 Jy/beam of the beam recorded.
    assert np.nanmax(mosaic.convolve_to(20 * u.arcsec).data) == pytest.approx(1.0, rel=1e-3)


def test_blank_keyword_of_a_float_image_is_ignored_quietly(tmp_path):
    """Some FIRST and NVSS cut-outs carry BLANK on float data: astropy ignores it
    (and warns); the image reads without a warning, NaN kept."""
    from astropy.io import fits

    data = np.random.default_rng(3).normal(1.0, 0.1, (20, 20)).astype(np.float32)
    data[0, 0] = np.nan
    header = lotss_wcs(data.shape).to_header()
    header.update(BMAJ=6 / 3600, BMIN=6 / 3600, BPA=0.0, BUNIT="JY/BEAM")
    path = tmp_path / "blank.fits"
    hdu = fits.PrimaryHDU(data, header)
    hdu.header["BLANK"] = -32768
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's own warning when writing it
        hdu.writeto(path)
    mosaic = SurveyMosaic.read(path)  # the suite turns warnings into errors
    assert np.isnan(mosaic.data[0, 0]) and mosaic.data[1, 1] == data[1, 1]


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"BMAJ": 0.0, "BMIN": 0.0, "BPA": 0.0}, "is not a beam: BMAJ = 0"),
        ({"BMAJ": -0.001, "BMIN": 0.001, "BPA": 0.0}, "both must be positive"),
        ({"BMAJ": 0.001, "BMIN": 0.002, "BPA": 0.0}, "BMIN .* larger than BMAJ"),
        ({"BMAJ": "six", "BMIN": 0.001, "BPA": 0.0}, "are not numbers"),
    ],
)
def test_invalid_beam_keywords_are_named(tmp_path, keywords, message):
    header = lotss_wcs((40, 40)).to_header()
    header.update(keywords)
    header["BUNIT"] = "JY/BEAM"
    path = tmp_path / "beam.fits"
    noise = np.random.default_rng(0).normal(0, 1e-4, (40, 40)).astype(np.float32)
    fits.PrimaryHDU(noise, header).writeto(path)
    with pytest.raises(InvalidImageError, match=message):
        SurveyMosaic.read(path)
    assert SurveyMosaic.read(path, beam=6 * u.arcsec).beam.major == 6 * u.arcsec


@pytest.mark.parametrize(
    "name, position",
    [
        ("FIRST_J001357-091951.fits", ("00h13m57.2s", "-09d19m51s")),
        ("J130904.395+102952.52.fits", ("13h09m04.395s", "+10d29m52.52s")),
    ],
)
def test_first_cutouts_with_four_wcs_axes_and_two_data_axes(real_data_path, name, position):
    """FIRST cut-outs have NAXIS = 2 but frequency and Stokes WCS keywords: the
    celestial WCS is kept, and the cut-out's centre is the source it is named after."""
    mosaic = SurveyMosaic.read(real_data_path("first_rgc_radio_galaxies", name))
    assert mosaic.wcs.naxis == 2
    assert mosaic.pixel_scale.to_value(u.arcsec) == pytest.approx(1.8)
    ny, nx = mosaic.shape
    centre = mosaic.wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
    assert centre.separation(SkyCoord(*position)) < 2 * u.arcsec


@pytest.mark.parametrize("value", [1e8, 1e30, 3e38])
def test_absurd_pixels_are_blanked_with_a_warning(tmp_path, value):
    """A few sentinel pixels in a corner of the example field are blanked, and the
    detections are those of the clean image (float32 FFT round-off of such values
    used to erase every detection)."""
    from diffuseradio import DiffuseDetector
    from diffuseradio.examples import example_field_path

    clean = SurveyMosaic.read(example_field_path())
    data = np.array(clean.data, dtype=np.float32)
    data[3:6, 5:8] = value
    path = tmp_path / "sentinel.fits"
    SurveyMosaic(data, clean.wcs, beam=clean.beam).write(path)
    with pytest.warns(DiffuseRadioWarning, match=r"9 pixels .*\(x 5-7, y 3-5.* blanked"):
        dirty = SurveyMosaic.read(path)
    assert np.isnan(dirty.data[3:6, 5:8]).all()
    detector = DiffuseDetector.from_pretrained()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiffuseRadioWarning)
        expected = detector.detect(clean, augment=False)
        found = detector.detect(dirty, augment=False)
    assert len(expected) > 0 and len(found) == len(expected)
    separation = found["sky_centroid"].separation(expected["sky_centroid"])
    assert separation.max() < 2 * clean.pixel_scale


@pytest.mark.parametrize("fill", [0.0, 1.5e-3])
def test_constant_images_are_refused(tmp_path, fill):
    path = tmp_path / "constant.fits"
    SurveyMosaic(np.full((64, 64), fill), lotss_wcs((64, 64)), beam=6 * u.arcsec).write(path)
    with pytest.raises(InvalidImageError, match="holds no noise"):
        SurveyMosaic.read(path)


def test_truncated_file_is_refused_in_one_line(real_data_path, tmp_path):
    whole = real_data_path("wsrt_3C236_grg", "3C236_original.fits").read_bytes()
    path = tmp_path / "cut.fits"
    path.write_bytes(whole[:100_000])
    with pytest.raises(InvalidImageError, match="truncated or corrupt: .* 512 x 512"):
        SurveyMosaic.read(path)


def test_non_square_pixels_are_refused():
    wcs = lotss_wcs((40, 40))
    wcs.wcs.cdelt = [-1.5 / 3600, 3.0 / 3600]
    with pytest.raises(InvalidImageError, match=r'1.5"x3", not square.*reproject'):
        SurveyMosaic(np.zeros((40, 40)), wcs, beam=6 * u.arcsec)
