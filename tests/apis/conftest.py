import pytest
from tiny_localizers import make_tiny


@pytest.fixture(scope='session')
def tiny_bmn(tmp_path_factory):
    """A small BMN (T=16, C=16) with seeded weights: ``dict(config, checkpoint, T, C)``."""
    return make_tiny('BMN', tmp_path_factory.mktemp('tiny_bmn'))
