import pytest

pytest.importorskip('av', reason='PyAV (requirements/optional.txt) decodes the test videos')
