"""Fixtures for the tests (the real-data fixture is in the root conftest.py)."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded random generator."""
    return np.random.default_rng(20261125)
