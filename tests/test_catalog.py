"""DetectionCatalog: measurements, files, regions and cross-matches."""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Table
from astropy.wcs import WCS
from helpers import lotss_wcs
from radio_beam import Beam
from regions import Regions
from skimage.measure import find_contours

from diffuseradio import DiffuseRadioWarning, SurveyMosaic
from diffuseradio.catalog import FLAGS, DetectionCatalog, decode_flags, read_catalogue

PSZ2 = ("catalogues", "HFI_PCCS_SZ-union_R2.08.fits")
A2744 = ("vla_A2744_halo", "A2744_JVLA.image.fits")


def gaussian_blob(shape, centre, fwhm_pixels, flux_jy, beam_area_pixels):
    """A circular Gaussian of a given integrated flux density, in Jy/beam."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    sigma = fwhm_pixels / 2.3548
    profile = np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * sigma**2))
    return profile / profile.sum() * flux_jy * beam_area_pixels


@pytest.fixture
def field(rng):
    """A 20" beam, 6" pixel field with two diffuse blobs and a compact source."""
    shape = (300, 320)
    wcs = lotss_wcs(shape, pixel_scale=6 * u.arcsec)
    beam = Beam(20 * u.arcsec)
    mosaic = SurveyMosaic(np.zeros(shape), wcs, beam=beam)
    area = mosaic.beam_area_pixels
    rms = 100e-6
    data = rng.normal(0, rms, shape)
    data += gaussian_blob(shape, (100, 120), 40, 0.050, area)  # 50 mJy "halo"
    data += gaussian_blob(shape, (220, 240), 25, 0.010, area)  # 10 mJy "relic"
    data += gaussian_blob(shape, (100, 130), 20 / 6, 0.200, area)  # compact in the halo
    mosaic = SurveyMosaic(data, wcs, beam=beam)
    segmentation = np.zeros(shape, dtype=np.int32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    segmentation[(yy - 100) ** 2 + (xx - 120) ** 2 <= 50**2] = 1
    segmentation[(yy - 220) ** 2 + (xx - 240) ** 2 <= 30**2] = 2
    probability = np.where(segmentation > 0, 0.9, 0.05).astype(np.float32)
    return mosaic, segmentation, probability


def test_flux_centroid_and_its_error_against_noise_realisations():
    """The flux-weighted centroid finds an injected blob; its error is the scatter of
    the centroid over noise realisations correlated as the beam (within 20 %)."""
    from scipy import ndimage

    shape = (120, 120)
    wcs = lotss_wcs(shape, pixel_scale=6 * u.arcsec)
    beam = Beam(20 * u.arcsec)
    area = SurveyMosaic(np.zeros(shape), wcs, beam=beam).beam_area_pixels
    # Radio noise is correlated as the beam: white noise smoothed by a Gaussian of
    # sigma / sqrt(2) has the beam's Gaussian as its autocorrelation.
    smoothing = 20 / 6 / 2.3548 / np.sqrt(2)
    blob = gaussian_blob(shape, (57.3, 61.8), 30, 0.040, area)  # 40 mJy: peak 5 sigma
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    segmentation = ((yy - 57) ** 2 + (xx - 62) ** 2 <= 25**2).astype(np.int32)
    rng = np.random.default_rng(11)
    found, errors = [], []
    for _ in range(60):
        noise = ndimage.gaussian_filter(rng.normal(size=shape), smoothing)
        noise *= 100e-6 / noise.std()
        mosaic = SurveyMosaic(blob + noise, wcs, beam=beam)
        row = DetectionCatalog(
            mosaic, segmentation, segmentation * 0.9, rms=100e-6 * u.Jy / u.beam
        ).table[0]
        x, y = wcs.world_to_pixel(row["flux_centroid"])
        found.append((float(x), float(y)))
        errors.append(row["flux_centroid_err"].to_value(u.arcsec) / 6)  # in pixels
    found = np.array(found)
    np.testing.assert_allclose(found.mean(axis=0), (61.8, 57.3), atol=0.15)
    scatter = np.sqrt(found.var(axis=0, ddof=1).mean())
    assert np.mean(errors) == pytest.approx(scatter, rel=0.2)  # measured: 0.46 and 0.42
    assert 0.2 < scatter < 2  # a fraction of a pixel to a few: the test measures something


def test_measurements_against_injected_truth(field):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability, rms=100e-6 * u.Jy / u.beam)
    table = catalog.table
    assert isinstance(table, QTable)
    assert list(table["id"]) == [1, 2]
    halo, relic = table
    # Flux densities: 50 + 200 mJy and 10 mJy injected (noise adds ~1 mJy).
    assert halo["flux_density"].to_value(u.mJy) == pytest.approx(250, rel=0.02)
    assert relic["flux_density"].to_value(u.mJy) == pytest.approx(
        10, abs=3 * relic["flux_density_err"].to_value(u.mJy)
    )
    # Error: rms * sqrt(number of beams).
    n_beams = (segmentation == 2).sum() / mosaic.beam_area_pixels
    assert relic["flux_density_err"].to_value(u.mJy) == pytest.approx(0.1 * np.sqrt(n_beams))
    assert relic["area_beams"] == pytest.approx(n_beams)
    assert relic["area"].to_value(u.arcmin**2) == pytest.approx((segmentation == 2).sum() * 0.01)
    # Position: the circle's centre, exact to the pixel and on the sky.
    assert halo["x_centroid"].value == pytest.approx(120)
    assert halo["y_centroid"].value == pytest.approx(100)
    assert halo["sky_centroid"].separation(mosaic.wcs.pixel_to_world(120, 100)) < 0.01 * u.arcsec
    # Largest angular size of a disc of radius 50 px (6"): ~101 px = 10.1'.
    assert halo["largest_angular_size"].to_value(u.arcmin) == pytest.approx(10.1, abs=0.15)
    # A disc's moments: sigma = r / 2 on both axes, FWHM = 2.355 * 25 px * 6" = 5.9'.
    for axis in ("major_axis", "minor_axis"):
        assert halo[axis].to_value(u.arcmin) == pytest.approx(5.89, rel=0.01)
    # The brightest pixel: the compact source's peak, 200 mJy/beam (the halo adds
    # 50 mJy * (3.3 px / 40 px)^2 = 0.3 mJy/beam, the noise 0.1 mJy/beam).
    assert halo["peak_surface_brightness"].to_value(u.mJy / u.beam) == pytest.approx(200, abs=1)
    # The compact source inside the halo carries 200 of its 250 mJy.
    assert halo["compact_flux_fraction"] == pytest.approx(0.8, abs=0.1)
    assert halo["flags"] & 4
    assert relic["compact_flux_fraction"] < 0.05
    assert relic["peak_probability"] == pytest.approx(0.9)
    assert table["flux_density"].unit == u.mJy
    assert table["largest_angular_size"].unit == u.arcmin


def test_physical_size_with_redshift(field):
    from astropy.cosmology import Planck18

    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability, redshift=0.3)
    row = catalog.table[0]
    expected = row["largest_angular_size"] * Planck18.kpc_proper_per_arcmin(0.3)
    assert row["largest_linear_size"].to_value(u.kpc) == pytest.approx(expected.to_value(u.kpc))
    assert catalog.table.meta["redshift"] == 0.3


def test_redshift_and_cosmology_attached_afterwards(field):
    from astropy.cosmology import FlatLambdaCDM

    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    assert "largest_linear_size" not in catalog.colnames
    cosmology = FlatLambdaCDM(H0=70, Om0=0.3, name="H70")
    distant = catalog.with_redshift(0.3, cosmology=cosmology)
    expected = catalog["largest_angular_size"] * cosmology.kpc_proper_per_arcmin(0.3)
    np.testing.assert_allclose(
        distant["largest_linear_size"].to_value(u.kpc), expected.to_value(u.kpc)
    )
    assert distant.table.meta["cosmology"] == "H70" and distant.table.meta["redshift"] == 0.3
    assert "largest_linear_size" not in catalog.colnames  # the original is unchanged
    assert "largest_linear_size" not in distant.with_redshift(None).colnames


def test_flags_edge_and_blank(field):
    mosaic, segmentation, probability = field
    mosaic.data[:, :5] = np.nan
    segmentation = segmentation.copy()
    segmentation[140:160, 0:30] = 3
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    flags = catalog.table["flags"][2]
    assert flags & 1 and flags & 2
    assert "touches the image edge" in decode_flags(flags)
    assert set(catalog.table.meta["flags"]) == set(FLAGS)


def test_empty_catalogue_warns_and_has_columns(field):
    mosaic, _, probability = field
    catalog = DetectionCatalog(mosaic, np.zeros(mosaic.shape, dtype=np.int32), probability)
    with pytest.warns(DiffuseRadioWarning, match="no diffuse emission"):
        table = catalog.table
    assert len(table) == 0
    assert "flux_density" in table.colnames and table["flux_density"].unit == u.mJy


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".vot"])
def test_table_round_trips(field, tmp_path, suffix):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability, meta={"model": "test@1"})
    path = tmp_path / f"catalog{suffix}"
    catalog.write(path)
    back = QTable.read(path)
    assert len(back) == 2
    np.testing.assert_allclose(
        back["flux_density"].to_value(u.mJy), catalog.table["flux_density"].to_value(u.mJy)
    )
    assert back["flux_density"].unit == u.mJy
    if suffix == ".ecsv":
        assert isinstance(back["sky_centroid"], SkyCoord)
        assert back.meta["model"] == "test@1"
    else:
        sky = SkyCoord(back["ra"], back["dec"])
        assert sky.separation(catalog.table["sky_centroid"]).max() < 1e-6 * u.arcsec
    with pytest.raises(FileExistsError):
        catalog.write(path)
    with pytest.raises(ValueError, match="table format"):
        catalog.write(tmp_path / "catalog.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"catalog{suffix}"]


def test_maps_have_input_shape_and_wcs(field, tmp_path):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    mask_path, prob_path = catalog.write_maps(tmp_path / "field")
    assert mask_path.name == "field.mask.fits"
    with fits.open(mask_path) as mask, fits.open(prob_path) as prob:
        assert mask[0].data.dtype == np.dtype("uint8")  # 2 labels: the smallest type
        np.testing.assert_array_equal(mask[0].data, segmentation)
        assert prob[0].data.dtype == np.dtype(">f4")
        for hdu in (mask[0], prob[0]):
            wcs = WCS(hdu.header)
            assert hdu.data.shape == mosaic.shape
            assert (
                wcs.pixel_to_world(10, 20).separation(mosaic.wcs.pixel_to_world(10, 20))
                < 1e-6 * u.arcsec
            )


def test_mask_type_holds_every_label(field, tmp_path):
    mosaic, _, probability = field
    for count, dtype in [(255, "uint8"), (256, ">i2"), (40000, ">i4")]:
        labels = np.zeros(mosaic.shape, np.int32)
        labels.flat[np.linspace(0, labels.size - 1, count).astype(int)] = np.arange(1, count + 1)
        catalog = DetectionCatalog(mosaic, labels, probability)
        mask_path, _ = catalog.write_maps(tmp_path / f"m{count}", overwrite=True)
        with fits.open(mask_path) as mask:
            assert mask[0].data.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(mask[0].data, labels)


def test_regions_round_trip(field, tmp_path):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    regions = catalog.to_regions()
    assert len(regions) == 2
    assert [r.meta["label"] for r in regions] == ["1", "2"]
    path = tmp_path / "field.reg"
    catalog.write_regions(path)
    back = Regions.read(path, format="ds9")
    assert len(back) == 2
    for region, (label, row) in zip(back, enumerate(catalog.table, start=1)):
        pixel = region.to_pixel(mosaic.wcs)
        # The simplified polygon (within half a pixel here) takes the segment's
        # pixels, give or take a few along its edge, with a few dozen vertices.
        mask = pixel.to_mask(mode="center").to_image(mosaic.shape).astype(bool)
        segment = segmentation == label
        assert (mask != segment).sum() < 0.02 * segment.sum()
        staircase = max(find_contours(np.pad(segment, 1).astype(float), 0.5), key=len)
        assert len(pixel.vertices) < 0.4 * len(staircase)
        assert str(region.meta["text"]) == str(row["id"])


def test_empty_catalogue_writes_a_valid_region_file(field, tmp_path):
    mosaic, _, probability = field
    catalog = DetectionCatalog(mosaic, np.zeros(mosaic.shape, dtype=np.int32), probability)
    path = tmp_path / "none.reg"
    with pytest.warns(DiffuseRadioWarning):
        catalog.write_regions(path)
    assert path.read_text().startswith("# Region file format: DS9")
    assert len(Regions.read(path, format="ds9")) == 0


def test_catalogue_behaves_as_its_table(field, tmp_path):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability, meta={"model": "test@1"})
    assert catalog.colnames == catalog.table.colnames
    assert catalog["flux_density"].unit == u.mJy
    assert catalog[0]["id"] == 1 and len(catalog[1:]) == 1
    assert [row["id"] for row in catalog] == [1, 2]
    assert all(catalog.columns[name].info.description for name in catalog.colnames)
    for name, fmt in [("c.csv", None), ("c.dat", "ascii.ecsv")]:
        catalog.write(tmp_path / name, format=fmt)
        back = QTable.read(tmp_path / name, format=fmt)
        np.testing.assert_allclose(
            u.Quantity(back["flux_density"], u.mJy).value, catalog["flux_density"].value
        )
    back = QTable.read(tmp_path / "c.dat", format="ascii.ecsv")
    assert back["flux_density"].info.description == catalog["flux_density"].info.description
    assert back.meta["software"].startswith("diffuseradio ")


def test_maps_record_how_they_were_made(field, tmp_path):
    mosaic, segmentation, probability = field
    meta = {
        "model": "test@1",
        "threshold": 0.9,
        "low_threshold": 0.3,
        "min_area_beams": 4.0,
        "working_beam_arcsec": 60.0,
        "command": "diffuseradio detect x",
    }
    catalog = DetectionCatalog(mosaic, segmentation, probability, meta=meta)
    _, prob_path = catalog.write_maps(tmp_path / "field")
    header = fits.getheader(prob_path)
    assert header["MODEL"] == "test@1" and header["THRESH"] == 0.9 and header["LOWTHR"] == 0.3
    assert header["ORIGIN"].startswith("diffuseradio ") and "diffuseradio detect x" in str(
        header["HISTORY"]
    )
    assert header["BMAJ"] * 3600 == pytest.approx(60.0)  # the working beam, coarser than 20"
    assert catalog.table.meta["beam_major_arcsec"] == 20.0


def test_crossmatch_with_skycoord_and_table(field):
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    target = mosaic.wcs.pixel_to_world(121, 101)
    matched = catalog.crossmatch(SkyCoord([target, SkyCoord(0, 0, unit="deg")]), 1 * u.arcmin)
    assert list(matched["id"]) == [1]
    assert matched["separation"][0] < 10 * u.arcsec
    table = Table({"Name": ["X"], "RAJ2000": [target.ra.deg], "DEJ2000": [target.dec.deg]})
    matched = catalog.crossmatch(table, 1 * u.arcmin)
    assert list(matched["Name"]) == ["X"]
    with pytest.raises(ValueError, match="no RA column"):
        catalog.crossmatch(Table({"x": [1.0]}), 1 * u.arcmin)


def test_crossmatch_left_join_and_all_pairs(field):
    """Two catalogue entries near detection 1, none near detection 2."""
    mosaic, segmentation, probability = field
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    near = mosaic.wcs.pixel_to_world([121, 118], [101, 99])
    table = QTable({"Name": ["A", "B"], "RA": near.ra, "DEC": near.dec})
    left = catalog.crossmatch(table, 1 * u.arcmin, join="left")
    assert list(left["id"]) == [1, 2]
    assert left["Name"][0] == "A" and left["Name"].mask[1]
    assert left["separation"].mask.tolist() == [False, True]
    pairs = catalog.crossmatch(table, 1 * u.arcmin, join="all")
    assert list(pairs["id"]) == [1, 1] and list(pairs["Name"]) == ["A", "B"]
    assert pairs["separation"][0] <= pairs["separation"][1]
    empty = catalog.crossmatch(table[:0], 1 * u.arcmin, join="left")
    assert len(empty) == 2 and empty["separation"].mask.all()
    with pytest.raises(ValueError, match="join must be one of nearest, left, all"):
        catalog.crossmatch(table, 1 * u.arcmin, join="outer")


def test_crossmatch_a2744_with_psz2(real_data_path):
    mosaic = SurveyMosaic.read(real_data_path(*A2744))
    psz2 = read_catalogue(real_data_path(*PSZ2))  # units 'degrees', 'None' in the file
    assert psz2["RA"].unit is None
    assert SkyCoord(psz2["RA"], psz2["DEC"], unit="deg")[0].dec.deg == psz2["DEC"][0]
    halo_centre = SkyCoord("00h14m20s", "-30d23m00s")
    x, y = mosaic.wcs.world_to_pixel(halo_centre)
    yy, xx = np.mgrid[: mosaic.shape[0], : mosaic.shape[1]]
    segmentation = (((yy - y) ** 2 + (xx - x) ** 2) < 40**2).astype(np.int32)
    catalog = DetectionCatalog(mosaic, segmentation, segmentation * 0.9)
    matched = catalog.crossmatch(psz2, 5 * u.arcmin)
    assert len(matched) == 1
    assert matched["NAME"][0].strip() == "PSZ2 G008.94-81.22"
    assert matched["separation"][0] < 3 * u.arcmin


def test_plot_draws_the_mask_ids_beam_scale_and_colour_bar(field):
    """The outlines are the mask's (one closed line per detection), each id is
    written inside its detection (an arc's centroid lies outside it), the colour
    bar is in mJy/beam."""
    import matplotlib

    matplotlib.use("agg")
    mosaic, _, probability = field
    yy, xx = np.mgrid[: mosaic.shape[0], : mosaic.shape[1]]
    radius = np.hypot(yy - 150, xx - 160)
    segmentation = np.zeros(mosaic.shape, np.int32)
    segmentation[(radius > 60) & (radius < 70) & (yy > 150)] = 1  # an arc
    segmentation[(yy - 60) ** 2 + (xx - 60) ** 2 < 15**2] = 2
    ax = DetectionCatalog(mosaic, segmentation, probability).plot()
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert sorted(labels) == ["1", "2"]
    x, y = labels["1"]
    assert segmentation[int(round(y)), int(round(x))] == 1
    outline = ax.collections[0]
    assert len(outline.get_paths()[0].to_polygons()) == 2  # the two detections
    assert ax.figure.axes[1].get_ylabel() == r"mJy beam$^{-1}$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["detections (2)"]


def test_grid_mismatch_refused(field):
    mosaic, segmentation, probability = field
    with pytest.raises(ValueError, match="mosaic's grid"):
        DetectionCatalog(mosaic, segmentation[:-1], probability)


def test_diffuse_class_only_for_multiclass_models(field):
    mosaic, segmentation, probability = field
    one_class = DetectionCatalog(mosaic, segmentation, probability).table
    assert "diffuse_class" not in one_class.colnames
    # Two diffuse classes: detection 1 mostly "halo", detection 2 mostly "relic".
    cube = np.zeros((2, *probability.shape), np.float32)
    cube[0][segmentation == 1], cube[1][segmentation == 1] = 0.7, 0.2
    cube[0][segmentation == 2], cube[1][segmentation == 2] = 0.1, 0.8
    table = DetectionCatalog(mosaic, segmentation, cube, classes=["halo", "relic"]).table
    assert list(table["diffuse_class"]) == ["halo", "relic"]
    assert table.colnames.index("diffuse_class") == table.colnames.index("mean_probability") + 1


def test_large_images_are_drawn_from_block_averages(field, monkeypatch):
    """A survey mosaic is drawn from a block average (a few megapixels), on the
    image's own pixel coordinates, with the labels where the detections are."""
    from diffuseradio import plotting

    mosaic, segmentation, probability = field  # 300 x 320 pixels
    monkeypatch.setattr(plotting, "DISPLAY_PIXELS", 100)  # as a 9500^2 mosaic is to 2000
    catalog = DetectionCatalog(mosaic, segmentation, probability)
    ax = catalog.plot()
    drawn = ax.images[0].get_array()
    assert drawn.shape == (75, 80)  # blocks of 4 x 4 pixels
    np.testing.assert_allclose(drawn[10, 12], 1e3 * mosaic.data[40:44, 48:52].mean(), rtol=1e-5)
    assert ax.images[0].get_extent() == [-0.5, 319.5, -0.5, 299.5]
    labels = {text.get_text(): text.get_position() for text in ax.texts}
    assert labels["1"] == pytest.approx((catalog.table["x_centroid"][0].value,
                                         catalog.table["y_centroid"][0].value))  # fmt: skip


def test_local_noise_of_a_quantised_image_leaves_out_its_fill_value(real_data_path):
    """The VLA Fornax A image is 16-bit: one quantised value fills 27 % of it. The
    local noise of every detection is a real noise figure, never that value's zero."""
    from diffuseradio import DiffuseDetector

    mosaic = SurveyMosaic.read(
        real_data_path("vla_fornaxA_1p5GHz", "NGC_1316_I_20cm_fev1989_i.fits")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = DiffuseDetector.from_pretrained().detect(mosaic, augment=False).table
    assert len(table) > 0
    rms = table["local_rms"].to_value(u.uJy / u.beam)
    assert np.all(np.isfinite(rms)) and np.all(rms > 0.25 * mosaic.rms.to_value(u.uJy / u.beam))
    assert np.all(np.isfinite(table["mean_snr_per_beam"])) and np.all(table["flux_density_err"] > 0)


def test_outputs_are_published_as_one_set(field, tmp_path, monkeypatch):
    """An interrupted publication leaves no catalogue and no file of the previous
    run beside the new ones; a killed run's scratch folder is removed next time."""
    import os

    from diffuseradio.catalog import output_paths, products, write_outputs

    mosaic, segmentation, probability = field
    first = DetectionCatalog(mosaic, segmentation, probability, meta={"threshold": 0.5})
    write_outputs(first, tmp_path, "field", plot=False)
    stale = tmp_path / ".field.scratch-killed"
    stale.mkdir()
    (stale / "field.mask.fits").write_bytes(b"")
    renamed = []

    def interrupted(source, target):  # publication: the third rename into the folder fails
        if Path(target).parent == tmp_path:
            if len(renamed) == 2:
                raise KeyboardInterrupt
            renamed.append(Path(target).name)
        os.rename(source, target)

    monkeypatch.setattr(products.os, "replace", interrupted)
    second = DetectionCatalog(mosaic, segmentation, probability, meta={"threshold": 0.7})
    with pytest.raises(KeyboardInterrupt):
        write_outputs(second, tmp_path, "field", plot=False)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(renamed) and "field.catalog.ecsv" not in left
    monkeypatch.undo()
    write_outputs(second, tmp_path, "field", plot=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in output_paths(tmp_path, "field", plot=False)
    )
    assert QTable.read(tmp_path / "field.catalog.ecsv").meta["threshold"] == 0.7


def test_small_flag_counts_beams_of_the_working_resolution(rng):
    """On a 6" image, a detection of 3 working (20") beams covers 33 image beams: it
    is still flagged small, as --min-area-beams counts working beams."""
    shape = (120, 120)
    mosaic = SurveyMosaic(rng.normal(0, 1e-4, shape), lotss_wcs(shape), beam=6 * u.arcsec)
    working_beam_pixels = Beam(20 * u.arcsec).sr.to_value(u.arcsec**2) / 1.5**2
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    radius = np.sqrt(3 * working_beam_pixels / np.pi)
    segmentation = (((yy - 60) ** 2 + (xx - 60) ** 2) <= radius**2).astype(np.int32)
    probability = segmentation * 0.95
    meta = {"working_beam_arcsec": 20.0}
    row = DetectionCatalog(mosaic, segmentation, probability, meta=meta).table[0]
    assert row["area_beams"] > 30 and row["flags"] & 16
    alone = DetectionCatalog(mosaic, segmentation, probability).table[0]  # no model known
    assert not alone["flags"] & 16


def test_largest_extent_is_the_largest_corner_to_corner_distance():
    """Against every pair of pixel corners, on regions of every shape (and collinear ones)."""
    from scipy import ndimage

    from diffuseradio.catalog.detections import _largest_extent

    def brute_force(ys, xs):
        offsets = [(dy, dx) for dy in (-0.5, 0.5) for dx in (-0.5, 0.5)]
        corners = np.concatenate([np.stack([ys + dy, xs + dx], axis=1) for dy, dx in offsets])
        return np.sqrt(((corners[:, None] - corners[None]) ** 2).sum(-1)).max()

    rng = np.random.default_rng(5)
    regions = [(np.array([3]), np.array([4])), (np.array([1, 1, 1]), np.array([1, 2, 3]))]
    for _ in range(10):
        labels, count = ndimage.label(ndimage.gaussian_filter(rng.normal(size=(40, 40)), 3) > 0.05)
        regions += [np.nonzero(labels == k) for k in range(1, count + 1)]
    assert len(regions) > 30
    for ys, xs in regions:
        assert _largest_extent(ys, xs) == pytest.approx(brute_force(ys, xs), abs=1e-9)
