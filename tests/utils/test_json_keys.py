"""mmloc.utils.json_keys: the compiled repeated-key scan proves exactly the texts that
repeat no key (as written), against a reference that builds every object from its pairs."""
import json

import pytest

from mmloc.utils import io as mmloc_io
from mmloc.utils.json_keys import LONG_INTEGER_DIGITS, keys_proven_unique

pytest.importorskip('numba')
orjson = pytest.importorskip('orjson')
from hypothesis import given, settings, strategies as st  # noqa: E402

DEPTH = mmloc_io.FAST_JSON_MAX_DEPTH


def _proven(text):
    raw = text.encode()
    orjson.loads(raw)           # the scan's precondition: text orjson accepted
    return keys_proven_unique(raw, DEPTH)


@pytest.mark.parametrize('text', [
    '{"a": 1, "b": 2}', '[{"a": 1}, {"a": 2}]', '{"a": {"a": {"a": 1}}}',
    '{"a": "b", "c": ["a", "a", {"a": "c"}]}',      # strings in arrays and values are no keys
    '{"a": "x\\"", "b": "\\\\", "c": "\\"}{,", "d": 1}',   # escapes in values only
    '{"a": [1, [2, {}], {}], "b": {"c": []}, "e": -0.5e-3, "f": true, "g": null}',
    '{"a:b": 1, "a[b": "{\\"a\\": 1, \\"a\\": 2}"}', '{"\u00e9": 1, "e": 2}', '{}', '[]',
    '{%s}' % ', '.join(f'"k{i}": {i}' for i in range(500)),      # a large object, sorted
    '{"n": 123456789012345678, "f": 1234567890123456789.5, "e": 12345678901234567890e0}',
    '[' * DEPTH + ']' * DEPTH,
])
def test_texts_without_a_repeated_key_are_proven(text):
    assert _proven(text) is True


@pytest.mark.parametrize('text', [
    '{"a": 1, "a": 2}', '{"x": {"a": 1, "b": 2, "a": 3}}', '[[{"k": 1, "k": 2}]]',
    '{%s, "k7": 0}' % ', '.join(f'"k{i}": {i}' for i in range(500)),   # sorted check
    '{%s, "k15": 0}' % ', '.join(f'"k{i}": {i}' for i in range(16)),    # pairwise, at 17 keys
    '{"a": {"b": 1}, "c": [], "a": 2}',
    '{"a\\u0062": 1}',                                # an escaped key: not proven, not judged
    '{"n": 1234567890123456789}', '[-1234567890123456789]',      # 19 digits
    '[' * (DEPTH + 1) + ']' * (DEPTH + 1),
])
def test_repeats_escaped_keys_long_integers_and_deep_texts_are_not_proven(text):
    assert _proven(text) is False


# ------------------------------------------------------------------ fuzzing against json
_KEY = st.text(alphabet='ab:[{"\\\u00e9 ', max_size=3)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20),
                    st.floats(allow_nan=False, allow_infinity=False), _KEY)


def _tree(children):
    return st.one_of(st.lists(children, max_size=4).map(lambda v: ('array', v)),
                     st.lists(st.tuples(_KEY, children), max_size=5).map(lambda v: ('object', v)))


_VALUE = st.recursive(_SCALAR, _tree, max_leaves=25)


def _dump(node, spaces, ascii_only):
    """Text of ``node`` (objects as lists of pairs, so keys may repeat) and whether the
    scan should prove it: no repeated key, no escaped key, no integer of 19+ digits."""
    if isinstance(node, tuple):
        kind, items = node
        parts, ok = [], True
        if kind == 'object':
            keys = [k for k, _ in items]
            ok = len(set(keys)) == len(keys)
            for key, value in items:
                text, fine = _dump(value, spaces, ascii_only)
                key_text = json.dumps(key, ensure_ascii=ascii_only)
                ok &= fine and '\\' not in key_text
                parts.append(f'{key_text}{spaces}:{spaces}{text}')
            return '{' + (',' + spaces).join(parts) + '}', ok
        for value in items:
            text, fine = _dump(value, spaces, ascii_only)
            ok &= fine
            parts.append(text)
        return '[' + (',' + spaces).join(parts) + ']', ok
    text = json.dumps(node, ensure_ascii=ascii_only)
    long_integer = type(node) is int and len(str(abs(node))) >= LONG_INTEGER_DIGITS
    return text, not long_integer


@settings(max_examples=400, deadline=None)
@given(_tree(_VALUE), st.sampled_from(['', ' ', '\n  ']), st.booleans())
def test_the_scan_proves_what_has_no_repeat_and_nothing_else(tmp_path_factory, node, spaces,
                                                             ascii_only):
    text, expected = _dump(node, spaces, ascii_only)
    assert _proven(text) is expected, text
    tmp = tmp_path_factory.mktemp('k')
    path = tmp / 'f.json'
    path.write_text(text, encoding='utf-8')
    try:
        strict = ('ok', mmloc_io._load_json_strict(text.encode(), str(path), 'key'))
    except mmloc_io.FormatError:
        strict = ('error',)
    data = mmloc_io.parse_json_unique(text.encode(), compiled=True)
    if data is mmloc_io.UNPROVEN:
        assert not expected
    else:                      # proven (by the scan or the walk): what json reads, types too
        assert strict[0] == 'ok' and repr(data) == repr(strict[1])
    if expected:
        assert strict[0] == 'ok'


def test_large_files_use_the_scan_and_read_what_json_reads(tmp_path):
    records = {f'v{i}': {'subset': 'validation', 'duration_second': 10.0 + i,
                         'annotations': [{'segment': [1.0, 2.5], 'label': 'a:b'}]}
               for i in range(3000)}
    text = json.dumps({'database': records, 'version': '1.3'})
    assert len(text) >= mmloc_io.COMPILED_PROOF_MIN_BYTES
    assert mmloc_io.parse_json_unique(text.encode(), compiled=True) == json.loads(text)
    repeated = text.replace('"v1": {', '"v0": {', 1)
    assert mmloc_io.parse_json_unique(repeated.encode(), compiled=True) is mmloc_io.UNPROVEN
    path = tmp_path / 'gt.json'
    path.write_text(repeated, encoding='utf-8')
    with pytest.raises(mmloc_io.FormatError,
                       match=r"duplicate key\(s\) \['v0'\] inside an object"):
        mmloc_io.load_json_file(str(path), top_level_name='video id')
