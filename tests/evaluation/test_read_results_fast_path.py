"""read_results: the per-column fast path gives what the per-item checks give, and an
unusual item anywhere still gets the per-item error naming it."""
import json

import numpy as np
import pytest

from mmloc.evaluation import formats
from mmloc.utils.validation import FormatError


def _items(n, label=True):
    rng = np.random.default_rng(0)
    out = []
    for j in range(n):
        s = float(rng.uniform(0, 50))
        item = dict(segment=[s, s + float(rng.uniform(0, 9))], score=float(rng.random()))
        if label:
            item['label'] = f'c{j % 3}'
        out.append(item)
    out[0]['segment'] = [1, 2]          # JSON integers are numbers too
    return out


@pytest.mark.parametrize('label', [True, False])
def test_fast_path_equals_the_per_item_checks(monkeypatch, label):
    data = {'results': {'a': _items(7, label), 'b': [], 'c': _items(1, label)}}
    fast = formats.read_results(data)
    monkeypatch.setattr(formats, '_plain_items', lambda items, require_label: None)
    slow = formats.read_results(data)
    assert fast.keys() == slow.keys()
    for vid in fast:
        np.testing.assert_array_equal(fast[vid]['segments'], slow[vid]['segments'])
        np.testing.assert_array_equal(fast[vid]['scores'], slow[vid]['scores'])
        assert fast[vid]['labels'] == slow[vid]['labels']


@pytest.mark.parametrize('edit, message', [
    (dict(score=True), r'video a item 4: "score" must be a number'),
    (dict(score=float('nan')), r'video a item 4: "score" must be finite'),
    (dict(segment=[3.0, 1.0]), r'video a item 4: "segment" ends before it starts'),
    (dict(segment=[1.0, '2']), r'video a item 4: "segment" must be \[start, end\]'),
    (dict(segment=[1.0, 2.0, 3.0]), r'video a item 4: "segment" must be \[start, end\]'),
    (dict(label=None), r'video a item 4: "label" must be a class name'),
])
def test_an_unusual_item_gets_its_per_item_error(tmp_path, edit, message):
    items = _items(7)
    items[4].update(edit)
    path = tmp_path / 'r.json'
    path.write_text(json.dumps({'results': {'a': items}}))
    with pytest.raises(FormatError, match=message):
        formats.read_results(str(path))


def test_integer_labels_and_missing_labels_take_the_per_item_path():
    items = _items(3)
    items[1]['label'] = 2
    assert formats.read_results({'a': items})['a']['labels'] == ['c0', 2, 'c2']
    del items[2]['label']
    with pytest.raises(FormatError, match='some items have a "label" and some do not'):
        formats.read_results({'a': items})
    with pytest.raises(FormatError, match='item 0 has no "label"'):
        formats.read_results({'a': _items(2, label=False)}, require_label=True)
