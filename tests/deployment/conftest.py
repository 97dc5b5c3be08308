import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'apis'))
from tiny_localizers import make_tiny  # noqa: E402


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
    """``{'BMN'|'TEM'|'PEM': dict(config, checkpoint, T, C)}``: small seeded models."""
    root = tmp_path_factory.mktemp('tiny_models')
    return {kind: make_tiny(kind, root, seed=i) for i, kind in enumerate(('BMN', 'TEM', 'PEM'))}
