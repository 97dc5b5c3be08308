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
    """Registries filled and mmengine set up as the tools do it when they start (importing
    mmloc does neither; tests/test_import_hygiene.py checks that in a fresh process)."""
    from mmloc.engine import setup_runtime
    from mmloc.utils import register_all_modules
    register_all_modules()
    setup_runtime()
