"""The compiled results scanner: numbers bit for bit as Python reads them, columns equal to
the JSON path's, and every file outside its layout left to the JSON reader."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mmloc.evaluation import formats, results_scan
from mmloc.utils.validation import FormatError

numba = pytest.importorskip('numba')


@pytest.fixture(scope='module')
def parse_numbers():
    """``parse(texts) -> (ends, bits)``: the scanner's ``_number`` on each text."""
    assert results_scan._KERNELS.get() is not None
    number = results_scan._number

    @numba.njit
    def parse_all(buf, starts):
        ends = np.empty(starts.shape[0], np.int64)
        bits = np.empty(starts.shape[0], np.uint64)
        for k in range(starts.shape[0]):
            ends[k], bits[k] = number(buf, starts[k])
        return ends, bits

    def parse(texts):
        joined = ' '.join(texts).encode() + b' '
        lengths = np.array([len(t) for t in texts], np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        ends, bits = parse_all(np.frombuffer(joined, np.uint8), starts)
        return np.where(ends < 0, -1, ends - starts), bits, lengths
    return parse


def _json_float(text: str) -> float:
    """What ``json`` + float64 make of a JSON number (an integer literal is an int)."""
    value = json.loads(text)
    return float(value)


def _expect_exact(parse, texts):
    consumed, bits, lengths = parse(texts)
    assert (consumed == lengths).all(), [t for t, c, n in zip(texts, consumed, lengths)
                                         if c != n][:5]
    expected = np.array([_json_float(t) for t in texts], np.float64).view(np.uint64)
    wrong = np.flatnonzero(bits != expected)
    assert not wrong.size, [(texts[i], bits[i].view(np.float64)) for i in wrong[:5]]


def test_repr_of_doubles_over_the_whole_normal_range(parse_numbers):
    rng = np.random.default_rng(0)
    # random bit patterns: every binade from ~1e-307 to ~1e308, both signs
    raw = rng.integers(0, 2 ** 63, 600_000, dtype=np.uint64)
    exponent = rng.integers(3, 0x7FE, raw.size).astype(np.uint64)
    raw = (raw & np.uint64((1 << 52) - 1)) | (exponent << np.uint64(52))
    values = raw.view(np.float64) * np.where(rng.random(raw.size) < 0.5, -1.0, 1.0)
    _expect_exact(parse_numbers, [repr(v) for v in values.tolist()])


def test_repr_of_typical_results_numbers(parse_numbers):
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.uniform(0, 1000, 200_000), rng.random(200_000),
                             rng.random(50_000).astype(np.float32).astype(np.float64),
                             np.round(rng.uniform(0, 300, 50_000), 2)])
    _expect_exact(parse_numbers, [repr(v) for v in values.tolist()])


def test_random_decimal_spellings(parse_numbers):
    rng = np.random.default_rng(2)
    texts = []
    for _ in range(300_000):
        n_digits = int(rng.integers(1, 20))
        digits = ''.join(str(d) for d in rng.integers(0, 10, n_digits))
        digits = digits.lstrip('0') or '0'
        point = int(rng.integers(0, len(digits) + 1))
        text = digits if point == len(digits) else \
            (digits[:point] or '0') + '.' + digits[point:]
        if rng.random() < 0.5:
            text += rng.choice(['e', 'E']) + rng.choice(['', '+', '-']) + \
                str(int(rng.integers(0, 40)))
        if rng.random() < 0.3:
            text = '-' + text
        texts.append(text)
    _expect_exact(parse_numbers, texts)


def test_leading_zeros_of_fractions_are_no_digits(parse_numbers):
    # 19 significant digits after many zeros still fit the 64-bit significand
    texts = ['0.' + '0' * k + '1234567890123456789' for k in range(0, 40)]
    texts += ['0.' + '0' * k + '9' * 19 + 'e' + str(k) for k in range(0, 40)]
    _expect_exact(parse_numbers, texts)


def test_halfway_integers_round_to_even(parse_numbers):
    # 2**k + 2**(k-53): exactly between two doubles, at most 19 digits
    texts = [str((1 << k) + (1 << (k - 53)) + d * (1 << (k - 52)))
             for k in range(53, 63) for d in range(4)]
    texts += [str(2 ** 53 + 1), str(2 ** 53 + 3), '9007199254740993e0', '18014398509481986',
              str(2 ** 63 - 1), '-' + str(2 ** 62 + 2 ** 9)]
    _expect_exact(parse_numbers, texts)


def test_edges_of_the_normal_range_and_zeros(parse_numbers):
    _expect_exact(parse_numbers, [
        '1.7976931348623157e308', '2.2250738585072014e-308', '1e308', '1e-307', '0', '-0',
        '0.0', '-0.0', '0e10', '-0E-5', '0.000', '1e22', '1e23', '9999999999999999999',
        '123456789012345678e-10', '4.35e-5'])
    assert _json_float('-0') == 0.0 and np.signbit(_json_float('-0.0'))


@pytest.mark.parametrize('text', [
    '01', '1.', '.5', '+1', '1e', '1e+', '-', '--1', 'NaN', 'Infinity', '-Infinity',
    '12345678901234567890',        # 20 digits: json decides
    '1.2345678901234567890',
    '4.9e-324', '2e-310',          # subnormal
    '1e309', '2e308',              # overflow
    '1e400', '1e-400'])
def test_numbers_outside_the_fast_layout_are_declined(parse_numbers, text):
    consumed, _, _ = parse_numbers([text])
    assert consumed[0] == -1


# ----------------------------------------------------------------------------- whole files
def _results(seed, videos=30, label=True, ints=False, names=('Long jump', 'x', 'Zumba')):
    rng = np.random.default_rng(seed)
    out = {}
    for v in range(videos):
        items = []
        for j in range(int(rng.integers(0, 12))):
            s = float(rng.uniform(0, 500))
            item = {'segment': [s, s + float(rng.exponential(20))], 'score': float(rng.random())}
            if ints and j == 0:
                item['segment'] = [int(s), int(s) + 3]
                item['score'] = 1
            if label:
                item['label'] = names[j % len(names)]
            keys = list(item)
            rng.shuffle(keys)
            items.append({k: item[k] for k in keys})
        out[f'v_{v:05d}' if v % 7 else f'-id{v}'] = items
    return out


def _write(tmp_path, text, name='r.json'):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def _assert_same_read(fast, slow):
    assert list(fast) == list(slow)
    for vid in fast:
        assert fast[vid]['segments'].tobytes() == slow[vid]['segments'].tobytes()
        assert fast[vid]['scores'].tobytes() == slow[vid]['scores'].tobytes()
        assert fast[vid]['labels'] == slow[vid]['labels']


def _json_read(monkeypatch, path, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(formats, 'scan_results_file', lambda source: None)
        return formats.read_results(path, **kwargs)


@pytest.mark.parametrize('label', [True, False])
@pytest.mark.parametrize('dump', [
    dict(), dict(indent=2), dict(separators=(',', ':')), dict(ensure_ascii=False),
    dict(indent='\t', sort_keys=True)])
def test_columns_equal_the_json_path(tmp_path, monkeypatch, label, dump):
    # json escapes non-ASCII unless ensure_ascii=False (an escape: the JSON path reads)
    names = ('Long jump', 'café au lait', 'x') if dump.get('ensure_ascii') is False \
        else ('Long jump', 'x', 'Zumba')
    results = _results(3, label=label, ints=True, names=names)
    data = {'version': 'VERSION 1.3', 'results': results,
            'external_data': {'used': True, 'details': 'x: [1, 2]', 'n': [1, None, {}]}}
    text = json.dumps(data, **dump)
    columns = results_scan.scan_results_bytes(text.encode())
    assert columns is not None
    reference = formats._plain_results_columns(json.loads(text))
    assert columns['vids'] == reference['vids']
    np.testing.assert_array_equal(columns['sizes'], reference['sizes'])
    assert columns['segments'].tobytes() == reference['segments'].tobytes()
    assert columns['scores'].tobytes() == reference['scores'].tobytes()
    assert columns['labels'] == reference['labels']
    path = _write(tmp_path, text)
    _assert_same_read(formats.read_results(path), _json_read(monkeypatch, path))


def test_arrays_grow_past_the_first_guess(tmp_path):
    # compact items of ~40 bytes: more rows than len // 100, more videos than the guess / 50
    results = {f'{v}': [{'segment': [0, 1], 'score': 0.5}] * 3 for v in range(5000)}
    text = json.dumps({'results': results}, separators=(',', ':')).encode()
    columns = results_scan.scan_results_bytes(text)
    assert len(columns['vids']) == 5000 and columns['scores'].shape == (15000,)
    assert (columns['sizes'] == 3).all() and (columns['segments'][:, 1] == 1).all()


def test_the_reader_takes_the_scanner_on_plain_files(tmp_path, monkeypatch):
    path = _write(tmp_path, json.dumps({'results': _results(4)}))
    calls = []
    real = formats.scan_results_file
    monkeypatch.setattr(formats, 'scan_results_file',
                        lambda source: calls.append(real(source)) or calls[-1])
    monkeypatch.setattr(formats, 'load_json', lambda *a, **k: pytest.fail('JSON path taken'))
    out = formats.read_results(path, require_label=True, blocked=['00001'])
    assert calls[0] is not None and 'v_00001' not in out and 'v_00002' in out


_PLAIN = '{"version": "VERSION 1.3", "results": {"a": [%s], "b": []}}'
_ITEM = '{"label": "Zumba", "segment": [1.5, 2.5], "score": 0.5}'


@pytest.mark.parametrize('text', [
    _PLAIN % _ITEM.replace('Zumba', 'Zumb\\u0061'),                  # an escape
    _PLAIN % _ITEM.replace('Zumba', 'Zu\tmba'),                       # a control character
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": 0.5, "score": 0.7'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": 0.5, "extra": 1'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": NaN'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": Infinity'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": "0.5"'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": 18446744073709551616'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": 9223372036854775808'),
    _PLAIN % _ITEM.replace('"score": 0.5', '"score": 1e400'),
    _PLAIN % _ITEM.replace('[1.5, 2.5]', '[1.5, 2.5, 3.5]'),
    _PLAIN % _ITEM.replace('[1.5, 2.5]', '[2.5, 1.5]'),
    _PLAIN % _ITEM.replace('"score": 0.5, ', '').replace(', "score": 0.5', ''),
    _PLAIN % (_ITEM + ', ' + _ITEM.replace('"label": "Zumba", ', '')),   # mixed labels
    _PLAIN % _ITEM.replace('"label": "Zumba"', '"label": 3'),
    _PLAIN % _ITEM + ' x',                                            # trailing bytes
    '\ufeff' + _PLAIN % _ITEM,                                        # a BOM
    (_PLAIN % _ITEM)[:-3],                                            # truncated
    '{"results": {"a": [{', '{"results": {"a": [{  ', '{"results": {"a"',   # ... at a key
    _PLAIN.replace('"b": []', '"a": []') % _ITEM,                     # a video twice
    _PLAIN.replace('"version"', '"results"') % _ITEM,                 # results twice
    _PLAIN.replace('"version": "VERSION 1.3"', '"version": tru') % _ITEM,
    _PLAIN.replace('"version": "VERSION 1.3"', '"e": {"k": 1, "k": 2}') % _ITEM,
    _PLAIN.replace('"version": "VERSION 1.3"', '"version": "a", "version": "b"') % _ITEM,
    '{"a": [%s]}' % _ITEM,                                            # the bare layout
    '{"results": {}}', '{"results": []}', '[]', '', '{"results": {"a": [], "b": []}}',
])
def test_files_outside_the_layout_go_to_the_json_reader(tmp_path, monkeypatch, text):
    assert results_scan.scan_results_bytes(text.encode()) is None
    path = _write(tmp_path, text)
    try:
        expected = _json_read(monkeypatch, path, require_label=True)
    except FormatError as e:
        with pytest.raises(FormatError) as got:
            formats.read_results(path, require_label=True)
        assert str(got.value) == str(e)
    else:
        _assert_same_read(formats.read_results(path, require_label=True), expected)


def test_plain_files_without_labels_still_need_them_for_detection(tmp_path, monkeypatch):
    path = _write(tmp_path, _PLAIN % _ITEM.replace('"label": "Zumba", ', ''))
    assert results_scan.scan_results_file(path)['labels'] is None
    _assert_same_read(formats.read_results(path), _json_read(monkeypatch, path))
    with pytest.raises(FormatError, match=r'video a: item 0 has no "label"'):
        formats.read_results(path, require_label=True)


def test_bytes_that_are_not_utf8_are_declined(tmp_path):
    for text in (_PLAIN % _ITEM.replace('Zumba', 'Zu\udcffmba'),
                 _PLAIN.replace('"a"', '"\udcff"') % _ITEM):
        raw = text.encode('utf-8', 'surrogateescape')
        assert results_scan.scan_results_bytes(raw) is None
        with pytest.raises(FormatError, match='not UTF-8'):
            formats.read_results(_write(tmp_path, raw))


def test_labels_with_one_hash_but_other_bytes_get_their_own_code():
    _, label_codes = results_scan._KERNELS.get()
    buf = np.frombuffer(b'abcabdababc', np.uint8)
    # forged equal hashes: abc, abd, ab (another length), abc
    spans = np.array([[0, 3, 7], [3, 6, 7], [6, 8, 7], [8, 11, 7]], np.int64)
    codes, first, k = label_codes(buf, spans)
    assert k == 3 and codes.tolist() == [0, 1, 2, 0] and first.tolist() == [0, 1, 2]
    spans[:, 2] = [5, 5 + (1 << 16), 9, 5]          # one slot, other hashes
    codes, first, k = label_codes(buf, spans)
    assert k == 3 and codes.tolist() == [0, 1, 2, 0]


def test_too_many_distinct_labels_go_to_the_json_reader(tmp_path, monkeypatch):
    n = results_scan._LABEL_SLOTS // 2 + 1
    items = [{'segment': [0, 1], 'score': 0.5, 'label': f'c{j}'} for j in range(n)]
    text = json.dumps({'results': {'a': items}})
    assert results_scan.scan_results_bytes(text.encode()) is None
    items.pop()
    columns = results_scan.scan_results_bytes(json.dumps({'results': {'a': items}}).encode())
    assert columns['labels'] == [f'c{j}' for j in range(n - 1)]


@pytest.mark.skipif(not os.path.isdir('../shared/data/activitynet'), reason='no ../shared/data')
def test_the_official_sample_submission(monkeypatch):
    path = '../shared/data/activitynet/official/sample_detection_prediction.json'
    assert results_scan.scan_results_file(path) is not None
    _assert_same_read(formats.read_results(path), _json_read(monkeypatch, path))


def test_without_numba_the_json_path_reads(tmp_path):
    path = _write(tmp_path, json.dumps({'results': _results(5)}))
    code = ('import sys; sys.modules["numba"] = None\n'
            'from mmloc.evaluation import formats, results_scan\n'
            f'assert results_scan.scan_results_file({path!r}) is None\n'
            f'out = formats.read_results({path!r})\n'
            'print(sum(len(r["scores"]) for r in out.values()))\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True)
    expected = sum(len(v) for v in _results(5).values())
    assert done.stdout.strip() == str(expected)


def test_label_codes_name_each_items_label(tmp_path, monkeypatch):
    path = _write(tmp_path, json.dumps({'results': _results(6)}))
    coded = formats.read_results(path, label_codes=True, blocked=['00002'])
    plain = formats.read_results(path, blocked=['00002'])
    assert list(coded) == list(plain) and 'v_00002' not in coded
    names = next(iter(coded.values()))['label_names']
    for vid, rec in coded.items():
        assert rec['label_names'] is names
        assert [names[c] for c in rec['label_codes']] == (rec['labels'] or [])
        assert rec['labels'] == plain[vid]['labels']
        assert 'label_codes' not in plain[vid]
    assert all('label_codes' not in r for r in _json_read(monkeypatch, path,
                                                          label_codes=True).values())


def test_detection_files_map_codes_and_name_an_unknown_label(tmp_path, monkeypatch):
    from mmloc.evaluation.metrics.detection_metric import load_detection_files
    from mmloc.utils.validation import FormatKeyError
    results = _results(8, videos=6)
    gt = {vid: {'duration_second': 600.0, 'annotations': [
        {'segment': [1.0, 20.0], 'label': name} for name in ('Long jump', 'x', 'Zumba')]}
        for vid in results}
    gt_path = _write(tmp_path, json.dumps(gt), 'gt.json')
    path = _write(tmp_path, json.dumps({'results': results}))
    fast = load_detection_files(path, gt_path)
    with monkeypatch.context() as m:
        m.setattr(formats, 'scan_results_file', lambda source: None)
        slow = load_detection_files(path, gt_path)
    assert fast[2] == slow[2] and list(fast[1]) == list(slow[1])
    for vid in fast[1]:
        for a, b in zip(fast[1][vid], slow[1][vid]):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    vid = next(v for v, items in results.items() if items)
    results[vid][0]['label'] = 'Unknown'
    path = _write(tmp_path, json.dumps({'results': results}))
    errors = []
    for scan in (True, False):
        with monkeypatch.context() as m:
            if not scan:
                m.setattr(formats, 'scan_results_file', lambda source: None)
            with pytest.raises(FormatKeyError, match="'Unknown' is not one of the 3") as e:
                load_detection_files(path, gt_path)
            errors.append(str(e.value))
    assert errors[0] == errors[1] and f'video {vid}' in errors[0]


def _scan_both_ways(monkeypatch, raw):
    """(one scan, two halves) of ``raw``; the halves' scan must have split it."""
    with monkeypatch.context() as m:
        m.setattr(results_scan, 'PARALLEL_ABOVE_BYTES', 1 << 62)
        whole = results_scan.scan_results_bytes(raw)
    parts = []
    real = results_scan._scan_part
    with monkeypatch.context() as m:
        m.setattr(results_scan, 'PARALLEL_ABOVE_BYTES', 0)
        m.setattr(results_scan, '_free_cpus', lambda: 2)
        m.setattr(results_scan, '_scan_part',
                  lambda *a: parts.append(real(*a)) or parts[-1])
        halves = results_scan.scan_results_bytes(raw)
    return whole, halves, [p[0] for p in parts]


def _same_columns(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('label', [True, False])
@pytest.mark.parametrize('dump', [dict(), dict(indent=1), dict(separators=(',', ':'))])
def test_two_halves_equal_one_scan(monkeypatch, seed, label, dump):
    results = _results(seed, videos=9, label=label)
    data = {'version': 'VERSION 1.3', 'results': results,
            'external_data': {'a': [1], 'b': [{'c': [2]}]}}
    whole, halves, statuses = _scan_both_ways(monkeypatch, json.dumps(data, **dump).encode())
    assert whole is not None and statuses[:2] in ([results_scan._COMPLETE, results_scan._STOPPED],
                                                  [results_scan._STOPPED, results_scan._COMPLETE])
    _same_columns(whole, halves)


def test_a_boundary_lookalike_after_the_results_falls_back_to_one_scan(monkeypatch):
    # the only "], "x": [" after the middle is inside external_data: the first half never
    # stops there, and the whole file is scanned once
    data = {'results': {'a': [{'segment': [1, 2], 'score': 0.5}]},
            'external_data': {'pad': 'x' * 200, 'a': [1], 'b': [2]}}
    whole, halves, statuses = _scan_both_ways(monkeypatch, json.dumps(data).encode())
    # the first half runs to the end (COMPLETE, not STOPPED), the second starts at '"b": ['
    # and meets no item (DECLINED), then one scan of all
    assert sorted(statuses[:2]) == [results_scan._DECLINED, results_scan._COMPLETE]
    assert statuses[2:] == [results_scan._COMPLETE]
    _same_columns(whole, halves)


def test_halves_with_other_fields_or_a_bad_second_half_are_declined(monkeypatch):
    labelled = _results(1, videos=6)
    plain = _results(2, videos=6, label=False)
    mixed = {'results': {**{f'a{k}': v for k, v in labelled.items()},
                         **{f'b{k}': v for k, v in plain.items()}}}
    whole, halves, _ = _scan_both_ways(monkeypatch, json.dumps(mixed).encode())
    assert whole is None and halves is None
    text = json.dumps({'results': labelled})
    broken = text[:-2] + ', "z": [{"segment": [1, 2], "score": NaN}]}}'
    whole, halves, _ = _scan_both_ways(monkeypatch, broken.encode())
    assert whole is None and halves is None
