"""pytest set-up shared by the tests, the package doctests and the docs."""

import os
from pathlib import Path

import pytest

#: The documentation's Sphinx extension needs Sphinx, which the test
#: environment does not install: it is built, not tested.
collect_ignore = ["docs/cli_reference.py", "docs/inventories"]

#: Where the project's real observed radio images live (outside the package):
#: ``../shared/data/real`` next to the repository, or $DIFFUSERADIO_REAL_DATA.
REAL_DATA = Path(
    os.environ.get(
        "DIFFUSERADIO_REAL_DATA",
        Path(__file__).resolve().parent.parent / "shared" / "data" / "real",
    )
)

#: Documentation pages whose examples read the real images.
PAGES_WITH_REAL_DATA = {"mosaics.rst", "simulate.rst", "crossmatch.rst"}


def pytest_collection_modifyitems(config, items):
    if REAL_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real data not available: {REAL_DATA}")
    for item in items:
        if Path(str(item.fspath)).name in PAGES_WITH_REAL_DATA:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _real_data_in_doctests(doctest_namespace):
    doctest_namespace["REAL_DATA"] = REAL_DATA


@pytest.fixture
def real_data_path():
    """Return a function ``(folder, filename) -> Path`` that skips when absent."""

    def locate(folder, filename):
        path = REAL_DATA / folder / filename
        if not path.is_file():
            pytest.skip(f"real data not available: {path}")
        return path

    return locate


@pytest.fixture
def real_data_folder():
    """The folder of the real images, or None when it is absent."""
    return REAL_DATA if REAL_DATA.is_dir() else None
