"""parse_plain_float_rows: np.loadtxt's numbers for plain rows, None for anything else."""
import io

import numpy as np
import pytest

from mmloc.datasets.transforms import proposal_loading
from mmloc.datasets.transforms.proposal_loading import (read_proposals, read_tem_results,
                                                        write_proposals, write_tem_results)
from mmloc.utils.float_csv import parse_plain_float_rows


def _decimals(rng, n, kind):
    if kind == 0:                      # what our writers write
        return [f'{v:.18e}' for v in rng.standard_normal(n)]
    if kind == 1:                      # short, over float32's whole range and beyond
        return [f'{v:.9g}' for v in rng.standard_normal(n) * 10.0 ** rng.integers(-47, 41, n)]
    if kind == 2:                      # long digit strings
        return [f"{'-' if rng.random() < .5 else ''}{rng.integers(1, 10)}."
                f"{''.join(map(str, rng.integers(0, 10, 25)))}e{rng.integers(-45, 39)}"
                for _ in range(n)]
    a = rng.standard_normal(n).astype(np.float32)   # float32 halfway points (ties)
    b = np.nextafter(a, np.float32(np.inf))
    return [repr((float(x) + float(y)) / 2) for x, y in zip(a, b)]


@pytest.mark.parametrize('kind', range(4))
def test_same_float32_bits_as_loadtxt(kind):
    rng = np.random.default_rng(kind)
    for trial in range(40):
        rows, cols = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        vals = _decimals(rng, rows * cols, kind)
        text = '\n'.join(','.join(vals[r * cols:(r + 1) * cols]) for r in range(rows))
        text += '\n' if trial % 2 else ''
        if trial % 5 == 0:
            text = text.replace('\n', '\r\n')
        ref = np.loadtxt(io.StringIO(text), dtype=np.float32, delimiter=',', ndmin=2)
        got = parse_plain_float_rows(text.encode(), cols)
        assert got is not None and got.dtype == np.float64
        with np.errstate(over='ignore'):
            got = got.astype(np.float32)
        assert got.shape == ref.shape and (got.view(np.uint32) == ref.view(np.uint32)).all()
        cut = int(rng.integers(0, rows + 2))
        ref_cut = np.loadtxt(io.StringIO(text), dtype=np.float32, delimiter=',', ndmin=2,
                             max_rows=cut)
        got_cut = parse_plain_float_rows(text.encode(), cols, max_rows=cut)
        with np.errstate(over='ignore'):
            assert np.array_equal(got_cut.astype(np.float32).reshape(ref_cut.shape), ref_cut)


@pytest.mark.parametrize('text', [
    '1,2\n3\n', '1,2,3\n4\n',                        # ragged rows (the second: same total)
    '1,,2\n3,4,5\n', '1,2\n\n3,4\n', '1, ,2\n',      # empty fields, a blank line
    'nan,1\n', '1,inf\n', '0x10,1\n', '"1",2\n',     # not plain decimals
    '1,2 # note\n', '1.2.3,4\n', '1e,2\n', '-,1\n', '1 2,3\n'])
def test_anything_else_is_left_to_the_strict_reader(text):
    cols = 3 if text.startswith(('1,,2', '1, ,2')) else 2
    assert parse_plain_float_rows(text.encode(), cols) is None


def test_empty_and_whitespace_only_data():
    assert parse_plain_float_rows(b'', 3).shape == (0, 3)
    assert parse_plain_float_rows(b'1,2,3\n', 3, max_rows=0).shape == (0, 3)
    assert parse_plain_float_rows(b'  \n', 3) is None


def test_readers_give_what_the_loadtxt_path_gives(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    tem = rng.random((100, 5)).astype(np.float32)
    tem[:, 4] = tem[:, 3] + 0.01
    props = np.sort(rng.random((300, 7)) * 0.9, axis=0)[::-1]
    props[:, 1] = props[:, 0] + 0.01
    write_tem_results(str(tmp_path / 't.csv'), tem)
    write_proposals(str(tmp_path / 'p.csv'), props)
    (tmp_path / 'bad.csv').write_text('action,start,end,tmin,tmax\n1,2,3,4\n')
    fast = (read_tem_results(str(tmp_path / 't.csv')),
            read_proposals(str(tmp_path / 'p.csv'), max_rows=120))
    with pytest.raises(Exception) as fast_error:
        read_tem_results(str(tmp_path / 'bad.csv'))
    calls = []
    monkeypatch.setattr(proposal_loading, 'parse_plain_float_rows',
                        lambda *a, **k: calls.append(a) or None)
    slow = (read_tem_results(str(tmp_path / 't.csv')),
            read_proposals(str(tmp_path / 'p.csv'), max_rows=120))
    assert len(calls) == 2
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        assert (a.view(np.uint32) == b.view(np.uint32)).all()
    assert fast[1].shape == (120, 7)
    with pytest.raises(Exception) as slow_error:
        read_tem_results(str(tmp_path / 'bad.csv'))
    assert str(fast_error.value) == str(slow_error.value) and 'bad.csv' in str(fast_error.value)


@pytest.mark.parametrize('text', ['-0,1\n', '-0.0,1.0\n', '.5,5.\n', '+1.5,2.5\n',
                                  '12345678901234567890123,1.5\n', '9007199254740993,1.0\n',
                                  '1E5,2e-3\n', '1.5,2.5\r\n3.5,-0.0\r\n', '3.4028235e38,1.0\n',
                                  '3.4028236e38,1.0\n', '1e-46,1.0\n'])
def test_edge_forms_match_loadtxt(text):
    # integer fields ("-0", beyond 2**53), JSON-invalid forms, CRLF, float32's edges
    ref = np.loadtxt(io.StringIO(text), dtype=np.float32, delimiter=',', ndmin=2)
    got = parse_plain_float_rows(text.encode(), 2)
    with np.errstate(over='ignore'):
        got = got.astype(np.float32)
    assert (got.view(np.uint32) == ref.view(np.uint32)).all(), (got, ref)
