"""mmloc.utils.io.load_json_file: every repeated key is found, wherever it sits, and the
reader returns exactly what json.load returns otherwise (no timing is asserted)."""
import gc
import json

import pytest

from mmloc.utils.io import load_json_file
from mmloc.utils.validation import FormatError

RESULTS = {'version': 'VERSION 1.3', 'external_data': {},
           'results': {f'v{i}': [{'label': 'a', 'segment': [0.5 * j, 0.5 * j + 1.0],
                                  'score': 1.0 / (j + 1)} for j in range(3)]
                       for i in range(4)}}


def _write(tmp_path, text, name='r.json'):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_same_data_as_json_load_and_gc_state_restored(tmp_path):
    path = _write(tmp_path, json.dumps(RESULTS))
    assert gc.isenabled()
    assert load_json_file(path) == RESULTS
    assert gc.isenabled()
    gc.disable()
    try:
        load_json_file(path)
        assert not gc.isenabled()      # a caller's paused collector stays paused
    finally:
        gc.enable()


@pytest.mark.parametrize('where', ['top', 'video', 'item', 'deep'])
def test_a_repeated_key_anywhere_is_an_error(tmp_path, where):
    text = json.dumps(RESULTS)
    if where == 'top':        # a second "results" object replaces the first with json.load
        text = text[:-1] + ', "results": {}}'
    elif where == 'video':    # a video listed twice: json.load keeps only the last list
        text = text.replace('"v1": [', '"v0": [', 1)
    elif where == 'item':     # one detection with two scores
        text = text.replace('"score": 1.0', '"score": 1.0, "score": 0.1', 1)
    else:                     # deep inside a list of lists
        text = text.replace('"external_data": {}', '"external_data": [[{"k": 1, "k": 2}]]')
    plain = json.loads(text)  # the silent loss a strict reader must not allow
    assert plain != json.loads(json.dumps(RESULTS)) or where == 'deep'
    path = _write(tmp_path, text)
    with pytest.raises(FormatError, match=r'r\.json: duplicate .*each key must appear once'):
        load_json_file(path)


def test_the_message_names_repeated_top_level_ids(tmp_path):
    path = _write(tmp_path, '{"v_a": {"x": 1}, "v_b": {}, "v_a": {"x": 2}}')
    with pytest.raises(FormatError, match=r"duplicate video id\(s\) \['v_a'\]"):
        load_json_file(path, top_level_name='video id')
    path = _write(tmp_path, '{"v_a": {"x": 1, "y": 2, "x": 3}}', 'n.json')
    with pytest.raises(FormatError, match=r"duplicate key\(s\) \['x'\] inside an object"):
        load_json_file(path)


def test_keys_that_differ_only_after_escapes_or_case_are_distinct(tmp_path):
    text = '{"a:b": 1, "a\\u003ab2": 2, "A:b": 3, "": 4, "\\u00e9": 5, "\\u00c9": 6}'
    assert load_json_file(_write(tmp_path, text)) == json.loads(text)
    # but an escape that spells an existing key is that key
    with pytest.raises(FormatError, match='duplicate'):
        load_json_file(_write(tmp_path, '{"a:b": 1, "a\\u003ab": 2}', 'e.json'))


# ------------------------------------------------------------------ the orjson fast path
from mmloc.utils import io as mmloc_io  # noqa: E402


def _strict(text, tmp_path, name='ref.json'):
    """The reference reading: json with the duplicate check (no orjson)."""
    path = _write(tmp_path, text, name)
    with open(path, 'rb') as f:
        raw = f.read()
    return mmloc_io._load_json_strict(raw, path, 'top-level key')


def _outcome(fn):
    try:
        return 'ok', fn()
    except FormatError as e:
        return 'error', str(e)


@pytest.mark.skipif(mmloc_io.orjson is None, reason='orjson not installed')
def test_plain_results_are_proven_and_equal_to_json(tmp_path):
    for text in (json.dumps(RESULTS), json.dumps(RESULTS, indent=2),
                 json.dumps(RESULTS, separators=(',', ':')),
                 ' \n\t' + json.dumps(RESULTS).replace(', ', ' ,\r\n ') + '\n'):
        raw = text.encode()
        data = mmloc_io.parse_json_unique(raw)
        assert data is not mmloc_io.UNPROVEN
        assert data == json.loads(text)


@pytest.mark.parametrize('text', [
    '{"a:b": 1}',                                    # a colon inside a key
    '{"v": [{"label": "a:b", "score": 1}]}',         # ... inside a value
    '{"v": [{"label": "a[b", "score": 1}]}',         # a bracket inside a string
    '{"a\\u003ab": 1, "c": "\\u005b"}',              # escaped ':' and '[' are no bytes
    '{"a": 18446744073709551616, "b": [-9223372036854775809]}',   # beyond 64 bits
    '{"a": 1e19, "b": [1e300]}',                     # genuine floats >= 2**63
    '{"a": NaN, "b": Infinity}', '[1e400]',          # json reads them, orjson does not
    '["\\ud800"]',                                   # a lone surrogate
    '[' * 150 + ']' * 150,                           # deeper than the fast path's limit
    '"\\u00e9:"', '12345678901234567890', '1e19', 'null', '[]', '{}', '3.5',
    '{"version": "VERSION 1.3", "external_data": {"used": true, "details": '
    '{"a": [[{"k": [1, 2.5, null]}]]}}, "results": {}}',
])
def test_the_fast_path_reads_what_json_reads(tmp_path, text):
    path = _write(tmp_path, text)
    assert _outcome(lambda: load_json_file(path)) == \
        _outcome(lambda: _strict(text, tmp_path))
    got = load_json_file(path) if _outcome(lambda: load_json_file(path))[0] == 'ok' else None
    if got is not None:      # same types too (an int stays an int)
        assert repr(got) == repr(json.loads(text))


@pytest.mark.skipif(mmloc_io.orjson is None, reason='orjson not installed')
def test_unprovable_texts_are_not_proven():
    for text in ('{"a": 1, "a": 2}', '[{"k": [1e19]}]', '[' * 150 + ']' * 150, '{"a": NaN}',
                 '{"a:b": 1, "a:b": 2}', '{"url": "http://x", "a": 1, "a": 2}',
                 # an escaped colon would make up for the member a repeated name dropped
                 '{"x": "\\u003a", "u": "a:b", "a": 1, "a": 2}',
                 '{"x": "\\u003A:", "a": 1}', '["\\u005b["]'):
        assert mmloc_io.parse_json_unique(text.encode()) is mmloc_io.UNPROVEN, text


@pytest.mark.skipif(mmloc_io.orjson is None, reason='orjson not installed')
def test_colons_and_brackets_inside_strings_are_proven():
    for text in ('{"a:b": 1}', '["a[b"]', '{"url": "https://youtu.be/x?t=1:2", "l": ["[:"]}',
                 '"a:["', '{"database": {"v:1": {"annotations": [{"label": "a:b"}]}}}'):
        data = mmloc_io.parse_json_unique(text.encode())
        assert data is not mmloc_io.UNPROVEN, text
        assert data == json.loads(text)


@pytest.mark.parametrize('where', ['top', 'video', 'item', 'deep', 'escaped', 'colon',
                                   'colon_escape'])
def test_repeated_keys_give_the_same_error_with_or_without_the_fast_path(
        tmp_path, monkeypatch, where):
    text = json.dumps(RESULTS)
    text = {'top': text[:-1] + ', "results": {}}',
            'video': text.replace('"v1": [', '"v0": [', 1),
            'item': text.replace('"score": 1.0', '"score": 1.0, "score": 0.1', 1),
            'deep': text.replace('"external_data": {}', '"external_data": [[{"k": 1, "k": 2}]]'),
            'escaped': text.replace('"v1": [', '"v\\u0030": [', 1),     # "v\u0030" is "v0"
            'colon': text.replace('"v1": [', '"v:1": [', 1).replace('"v2": [', '"v0": [', 1),
            # the escaped ':' decodes to one more ':' than the text's bytes hold
            'colon_escape': text.replace('"v1": [', '"v:1": [', 1).replace(
                '"v2": [', '"v0": [', 1).replace('"VERSION 1.3"', '"\\u003a"'),
            }[where]
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as fast:
        load_json_file(path, top_level_name='video id')
    monkeypatch.setattr(mmloc_io, 'orjson', None)
    with pytest.raises(FormatError) as slow:
        load_json_file(path, top_level_name='video id')
    assert str(fast.value) == str(slow.value)
    assert 'each key must appear once' in str(fast.value)


def test_a_specialised_walk_that_undercounts_only_falls_back(tmp_path):
    text = json.dumps(RESULTS)
    path = _write(tmp_path, text)
    assert load_json_file(path, count=lambda data: (0, 0, 0, 0)) == json.loads(text)
    assert load_json_file(path, count=lambda data: None) == json.loads(text)
