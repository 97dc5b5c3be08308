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
