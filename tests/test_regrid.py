import astropy.units as u
import numpy as np
import pytest
from radio_beam import Beam
from scipy.ndimage import map_coordinates
from test_working_grid import P205

from diffuseradio import SurveyMosaic
from diffuseradio.mosaic.regrid import bilinear_sample


def reference(data, rows, columns):
    grid = np.meshgrid(rows, columns, indexing="ij")
    return map_coordinates(data.astype(np.float64), grid, order=1, mode="nearest")


@pytest.mark.parametrize("factor", [4.0, 1 / 3.0, 1.37])
def test_matches_map_coordinates_on_a_real_image(real_data_path, factor):
    """Coarser, finer and non-integer scales, with edges and blanked pixels."""
    data = SurveyMosaic.read(real_data_path(*P205)).data.astype(np.float32)
    data[100:110, 200:230] = np.nan
    rows = (np.arange(int(data.shape[0] / factor)) + 0.5) * factor - 0.5 + 0.25
    columns = (np.arange(int(data.shape[1] / factor) + 3) + 0.5) * factor - 0.5 - 1.0
    sampled = bilinear_sample(data, rows, columns)
    expected = reference(data, rows, columns)
    assert sampled.shape == (rows.size, columns.size) and sampled.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(sampled), np.isnan(expected))
    assert np.isnan(sampled).any()
    finite = np.isfinite(expected)
    np.testing.assert_allclose(sampled[finite], expected[finite], rtol=1e-5, atol=1e-9)


def test_exact_on_pixel_centres_and_linear_between():
    data = np.arange(20, dtype=np.float32).reshape(4, 5)
    np.testing.assert_array_equal(bilinear_sample(data, np.arange(4), np.arange(5)), data)
    ramp = bilinear_sample(data, [1.25], [2.5, 4.0, 7.0, -3.0])
    np.testing.assert_allclose(ramp, [[5 * 1.25 + 2.5, 5 * 1.25 + 4, 5 * 1.25 + 4, 5 * 1.25]])


def test_single_row_and_column_images():
    np.testing.assert_array_equal(
        bilinear_sample(np.array([[3.0]], np.float32), [-1, 0, 0.5], [0, 2]), np.full((3, 2), 3.0)
    )


@pytest.mark.parametrize("rotation", [0.0, 35.0])
def test_elliptical_beam_convolution_on_a_rotated_grid(rotation):
    """The kernel's position angle is on the sky: on a grid rotated by 35 deg, a
    point convolved to a 30"x15" beam at PA 30 deg is elongated at PA 30 deg on the
    sky, as on a north-up grid."""
    from astropy.wcs import WCS

    from diffuseradio.mosaic.regrid import grid_north

    shape = (161, 161)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [150.0, 40.0]
    wcs.wcs.crpix = [81, 81]
    wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    angle = np.deg2rad(rotation)
    wcs.wcs.pc = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    wcs.pixel_shape = shape[::-1]
    assert abs(grid_north(wcs).to_value(u.deg)) == pytest.approx(rotation, abs=0.01)
    data = np.zeros(shape)
    data[80, 80] = 1.0
    small = Beam(4.5 * u.arcsec, 3 * u.arcsec, 30 * u.deg)
    mosaic = SurveyMosaic(data, wcs, beam=small)
    smooth = mosaic.convolve_to(Beam(30 * u.arcsec, 15 * u.arcsec, 30 * u.deg)).data
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    weights = smooth / smooth.sum()
    mx, my = (weights * xs).sum(), (weights * ys).sum()
    cov = np.array(
        [
            [(weights * (xs - mx) ** 2).sum(), (weights * (xs - mx) * (ys - my)).sum()],
            [(weights * (xs - mx) * (ys - my)).sum(), (weights * (ys - my) ** 2).sum()],
        ]
    )
    dx, dy = np.linalg.eigh(cov)[1][:, 1]
    centre, along = wcs.pixel_to_world([mx, mx + dx], [my, my + dy])
    pa = centre.position_angle(along).to_value(u.deg) % 180
    assert pa == pytest.approx(30, abs=1.5)
