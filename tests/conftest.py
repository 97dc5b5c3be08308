"""Shared pytest fixtures."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('MMLOC_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data'))


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'shared reference data not found at {SHARED_DATA}')
    return SHARED_DATA


@pytest.fixture(scope='session', autouse=True)
def _register_mmloc():
    from mmloc.utils import register_all_modules
    register_all_modules()
