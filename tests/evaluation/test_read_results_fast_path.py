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


# ------------------------------------------------------------------ whole-file columns
def _read_both(monkeypatch, source, **kwargs):
    """read_results with the columnar path, and with only the per-item checks."""
    def outcome():
        try:
            return formats.read_results(source, **kwargs)
        except FormatError as e:
            return str(e)
    fast = outcome()
    with monkeypatch.context() as m:
        m.setattr(formats, '_plain_results_columns', lambda data: None)
        m.setattr(formats, '_plain_items', lambda items, require_label: None)
        slow = outcome()
    return fast, slow


def _assert_same(fast, slow):
    if isinstance(slow, str):
        assert fast == slow
        return
    assert list(fast) == list(slow)
    for vid in fast:
        for key in ('segments', 'scores'):
            assert fast[vid][key].dtype == slow[vid][key].dtype
            np.testing.assert_array_equal(fast[vid][key], slow[vid][key])
        assert fast[vid]['labels'] == slow[vid]['labels']


@pytest.mark.parametrize('case', ['plain', 'no_label', 'empty_video', 'bare', 'blocked',
                                  'external', 'big', 'int_label', 'mixed_fields', 'reversed',
                                  'require_label'])
@pytest.mark.parametrize('from_file', [True, False])
def test_whole_file_columns_equal_the_per_item_path(tmp_path, monkeypatch, case, from_file):
    label = case not in ('no_label', 'require_label')
    body = {'v_a': _items(5, label), 'v_b': _items(3, label), 'v_c': _items(1, label)}
    kwargs = {}
    if case == 'empty_video':
        body['v_b'] = []
    elif case == 'blocked':
        kwargs['blocked'] = ['b']
    elif case == 'big':
        body['v_b'][1]['score'] = 1e19        # not provable (orjson's big-int float)
    elif case == 'int_label':
        body['v_b'][1]['label'] = 3
    elif case == 'mixed_fields':
        body['v_b'][1]['extra'] = {'k': [1, 2]}
    elif case == 'reversed':
        body['v_b'][1]['segment'] = [5.0, 1.0]
    elif case == 'require_label':
        kwargs['require_label'] = True
    data = body if case == 'bare' else {
        'version': 'VERSION 1.3', 'results': body,
        'external_data': {'used': True, 'details': [[{'k': 'a:b'}]]} if case == 'external'
        else {}}
    source = data
    if from_file:
        source = tmp_path / 'r.json'
        source.write_text(json.dumps(data))
        source = str(source)
    fast, slow = _read_both(monkeypatch, source, **kwargs)
    _assert_same(fast, slow)
    if case == 'blocked':
        assert 'v_b' not in fast


def test_plain_files_take_the_columnar_path():
    items = _items(4)
    data = {'results': {'a': items, 'b': []}, 'version': 'x', 'external_data': {'e': [1]}}
    columns = formats._plain_results_columns(data)
    assert columns is not None
    assert columns['sizes'].tolist() == [4, 0]
    # every key and list of the tree: 3 top keys + 2 videos + 3 per item + the inner {"e"}
    assert columns['n_keys'] == 3 + 2 + 3 * 4 + 1
    assert columns['n_lists'] == 2 + 4 + 1      # item lists, segments, [1]
    assert columns['n_colons'] == columns['n_brackets'] == 0
    assert tuple(columns[k] for k in ('n_keys', 'n_lists', 'n_colons', 'n_brackets')) == \
        formats.count_json_containers(data)
    data['results']['a:[b'] = [dict(items[0], label='x:y')]
    data['external_data']['u:['] = 'http://a['
    columns = formats._plain_results_columns(data)
    assert (columns['n_colons'], columns['n_brackets']) == (4, 3)
    assert tuple(columns[k] for k in ('n_keys', 'n_lists', 'n_colons', 'n_brackets')) == \
        formats.count_json_containers(data)


# ------------------------------------------------------------------ plain GT annotations
def _gt_both(monkeypatch, gt):
    import warnings

    def outcome():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            try:
                out = formats.read_ground_truth(gt)
            except FormatError as e:
                out = str(e)
        return out, [str(w.message) for w in caught]
    fast = outcome()
    with monkeypatch.context() as m:
        m.setattr(formats, '_plain_gt_columns', lambda records: None)
        per_video = outcome()                      # _plain_annotations, video by video
        m.setattr(formats, '_plain_annotations', lambda anns: None)
        slow = outcome()
    _assert_same_gt(per_video, slow)
    return fast, slow


def _assert_same_gt(fast, slow):
    (fast, fast_warn), (slow, slow_warn) = fast, slow
    assert fast_warn == slow_warn
    if isinstance(slow, str):
        assert fast == slow
        return
    assert list(fast) == list(slow)
    for vid in fast:
        assert fast[vid].keys() == slow[vid].keys()
        assert fast[vid]['segments'].dtype == slow[vid]['segments'].dtype == np.float64
        assert fast[vid]['segments'].tobytes() == slow[vid]['segments'].tobytes()
        assert fast[vid]['segments'].shape == slow[vid]['segments'].shape
        assert fast[vid]['labels'] == slow[vid]['labels']
        assert fast[vid]['duration'] == slow[vid]['duration']
        assert type(fast[vid]['duration']) is type(slow[vid]['duration'])
        assert fast[vid]['subset'] == slow[vid]['subset']
        for key in fast[vid].get('characteristics', ()):
            np.testing.assert_array_equal(fast[vid]['characteristics'][key],
                                          slow[vid]['characteristics'][key])


@pytest.mark.parametrize('edit', [None, 'outside', 'int_segment', 'null_duration', 'detad',
                                  'int_label', 'reversed', 'extra_key', 'empty', 'bool'])
def test_plain_gt_annotations_equal_the_per_annotation_checks(monkeypatch, edit):
    anns = [{'segment': [1.5, 4.0], 'label': 'a'}, {'segment': [0.0, 9.0], 'label': 'b'}]
    rec = {'duration_second': 10.0, 'annotations': anns}
    if edit == 'outside':
        anns[1]['segment'] = [-1.0, 12.0]
    elif edit == 'int_segment':
        anns[0]['segment'] = [1, 4]
    elif edit == 'null_duration':
        rec['duration_second'] = None
    elif edit == 'detad':
        anns[0]['coverage'] = 0.3
    elif edit == 'int_label':
        anns[1]['label'] = 2
    elif edit == 'reversed':
        anns[1]['segment'] = [5.0, 1.0]
    elif edit == 'extra_key':
        anns[1]['note'] = 'x'
    elif edit == 'empty':
        rec['annotations'] = []
    elif edit == 'bool':
        anns[1]['segment'] = [True, 2.0]
    gt = {'v_x': rec, 'v_y': {'duration_second': 5.0,
                              'annotations': [{'segment': [0.5, 1.0], 'label': 'a'}]}}
    _assert_same_gt(*_gt_both(monkeypatch, gt))


@pytest.mark.parametrize('edit', [
    None, 'int_duration', 'zero_duration', 'bool_duration', 'nan_duration', 'str_duration',
    'official', 'no_duration', 'record_not_dict', 'annotations_missing', 'huge_int',
    'subset_int', 'all_empty', 'outside_many'])
def test_whole_gt_columns_equal_the_per_video_checks(monkeypatch, edit):
    import warnings
    rng = np.random.default_rng(7)
    gt = {}
    for v in range(40):
        anns = []
        for _ in range(int(rng.integers(0, 4))):
            s = float(rng.uniform(0, 90))
            anns.append({'segment': [s, s + float(rng.uniform(0, 20))],
                         'label': f'c{int(rng.integers(5))}'})
        gt[f'v_{v}'] = {'duration_second': 100.0, 'annotations': anns}
    first = gt['v_3']
    if edit == 'int_duration':
        first['duration_second'] = 100
    elif edit == 'zero_duration':
        first['duration_second'] = 0
    elif edit == 'bool_duration':
        first['duration_second'] = True
    elif edit == 'nan_duration':
        first['duration_second'] = float('nan')
    elif edit == 'str_duration':
        first['duration_second'] = '100'
    elif edit == 'official':
        gt = {'version': 'VERSION 1.3', 'database': {
            k[2:]: {'subset': ['training', 'validation'][i % 2], 'url': 'https://x',
                    'resolution': '640x360', 'duration': 100.0, **{'annotations': r['annotations']}}
            for i, (k, r) in enumerate(gt.items())}}
    elif edit == 'no_duration':
        del first['duration_second']
    elif edit == 'record_not_dict':
        gt['v_3'] = []
    elif edit == 'annotations_missing':
        del first['annotations']
    elif edit == 'huge_int':
        first['annotations'] = [{'segment': [0, 10 ** 30], 'label': 'c1'}]
    elif edit == 'subset_int':
        first['subset'] = 3
    elif edit == 'all_empty':
        for rec in gt.values():
            rec['annotations'] = []
    elif edit == 'outside_many':
        for rec in list(gt.values())[::3]:
            rec['annotations'].append({'segment': [-2.0, 130.5], 'label': 'c0'})
    records = gt.get('database', gt)
    plain = edit in (None, 'int_duration', 'official', 'no_duration', 'subset_int',
                     'all_empty', 'outside_many')
    assert (formats._plain_gt_columns(records) is not None) == plain
    _assert_same_gt(*_gt_both(monkeypatch, gt))
    if edit == 'official':
        for subset in ('validation', 'training'):
            with monkeypatch.context() as m, warnings.catch_warnings():
                warnings.simplefilter('ignore')
                fast = formats.read_ground_truth(gt, subset=subset, blocked=['v_1', '4'])
                m.setattr(formats, '_plain_gt_columns', lambda records: None)
                slow = formats.read_ground_truth(gt, subset=subset, blocked=['v_1', '4'])
            _assert_same_gt((fast, []), (slow, []))


def test_outside_duration_precheck_agrees_with_the_per_video_count():
    import warnings
    gt = {'a': {'duration': 10.0}, 'b': {'duration': None}, 'c': {'duration': 5.0}}
    inside = {'a': {'segments': np.array([[0.0, 10.0], [2.0, 3.0]])},
              'b': {'segments': np.array([[-5.0, 50.0]])},      # no duration: not checked
              'c': {'segments': np.zeros((0, 2))}, 'd': {'segments': np.array([[-1.0, 1.0]])}}
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert formats.count_outside_duration(inside, gt) == 0
    assert not formats._any_outside_duration(inside, gt)
    for bad in ([[-0.5, 1.0]], [[1.0, 10.5]]):
        results = dict(inside, c={'segments': np.array(bad)})
        assert formats._any_outside_duration(results, gt)
        with pytest.warns(UserWarning, match='video c item 0'):
            assert formats.count_outside_duration(results, gt, 'r.json') == 1


def test_a_file_json_must_read_still_gets_the_columnar_path(tmp_path, monkeypatch):
    # "\u003a" makes the orjson reading unprovable: json reads the file, the columns follow
    text = json.dumps({'version': 'V', 'results': {'a': _items(4), 'b:c': _items(2)}})
    text = text.replace('"V"', '"\\u003a"')
    path = tmp_path / 'r.json'
    path.write_text(text)
    from mmloc.utils import io as mmloc_io
    assert mmloc_io.parse_json_unique(text.encode()) is mmloc_io.UNPROVEN
    fast, slow = _read_both(monkeypatch, str(path))
    _assert_same(fast, slow)
    assert list(fast) == ['a', 'b:c']
