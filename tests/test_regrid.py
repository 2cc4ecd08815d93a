import numpy as np
import pytest
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
