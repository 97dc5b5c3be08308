"""Property-based tests (hypothesis): parsers never fail silently or with an anonymous
error; temporal IoU and Soft-NMS keep their invariants and match simple loop references."""
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmloc.datasets.activitynet_dataset import load_annotation_json, validate_record
from mmloc.evaluation.formats import FormatError, read_results
from mmloc.structures.segment_ops import (pairwise_intersection, pairwise_temporal_iop,
                                                      pairwise_temporal_iou)
from mmloc.models.post_processing.nms import mmaction2_soft_nms

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------- strategies

coord = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def segments(draw, min_size=0, max_size=12, min_len=0.0):
    n = draw(st.integers(min_size, max_size))
    starts = draw(arrays(np.float64, n, elements=coord))
    lengths = draw(arrays(np.float64, n, elements=st.floats(min_len, 500, allow_nan=False)))
    return np.stack([starts, starts + lengths], axis=1).reshape(-1, 2)


@st.composite
def candidates(draw, max_size=15):
    """BMN-style candidates: normalised [tmin, tmax] with positive length, score in (0, 1]."""
    n = draw(st.integers(1, max_size))
    tmin = draw(arrays(np.float64, n, elements=st.floats(0, 0.95)))
    length = draw(arrays(np.float64, n, elements=st.floats(0.01, 1.0)))
    score = draw(arrays(np.float64, n, elements=st.floats(1e-3, 1.0), unique=True))
    return np.stack([tmin, np.minimum(tmin + length, 1.0), score], axis=1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


# ---------------------------------------------------------------- loop references

def iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, (s1, e1) in enumerate(a):
        for j, (s2, e2) in enumerate(b):
            inter = max(0.0, min(e1, e2) - max(s1, s2))
            union = (e1 - s1) + (e2 - s2) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def soft_nms_loop(props, alpha, low, high, top_k):
    """MMAction2's ``soft_nms`` written plainly with Python lists (spec §3.7)."""
    props = props[props[:, -1].argsort()[::-1]]
    tstart, tend, tscore = list(props[:, 0]), list(props[:, 1]), list(props[:, -1])
    kept = []
    while tscore and len(kept) <= top_k:
        m = tscore.index(max(tscore))
        width = tend[m] - tstart[m]
        for i in range(len(tscore)):
            if i != m:
                iou = iou_loop([(tstart[m], tend[m])], [(tstart[i], tend[i])])[0, 0]
                if iou > low + (high - low) * width:
                    tscore[i] = tscore[i] * math.exp(-iou * iou / alpha)
        kept.append((tstart.pop(m), tend.pop(m), tscore.pop(m)))
    return np.array(kept).reshape(-1, 3)


# ---------------------------------------------------------------- temporal IoU

@SETTINGS
@given(segments(), segments())
def test_iou_symmetric_bounded_and_equal_to_loop(a, b):
    iou = pairwise_temporal_iou(a, b)
    assert iou.shape == (len(a), len(b)) and iou.dtype == np.float64
    np.testing.assert_array_equal(iou, pairwise_temporal_iou(b, a).T)
    assert ((iou >= 0) & (iou <= 1)).all()
    np.testing.assert_allclose(iou, iou_loop(a, b), rtol=1e-12, atol=1e-12)
    inter = pairwise_intersection(a, b)
    len_a, len_b = a[:, 1] - a[:, 0], b[:, 1] - b[:, 0]
    assert (inter <= np.minimum(len_a[:, None], len_b[None, :]) + 1e-9).all()
    # IoU never exceeds the share of either segment that the other covers
    assert (iou <= pairwise_temporal_iop(a, b) + 1e-12).all()
    assert (iou <= pairwise_temporal_iop(b, a).T + 1e-12).all()
    assert ((pairwise_temporal_iop(a, b) >= 0) & (pairwise_temporal_iop(a, b) <= 1 + 1e-12)).all()


@SETTINGS
@given(segments(min_size=1), st.floats(-100, 100), st.floats(0.01, 100))
def test_iou_self_is_one_and_invariant_to_shift_and_scale(a, shift, scale):
    diag = np.diag(pairwise_temporal_iou(a, a))
    np.testing.assert_array_equal(diag, np.where(a[:, 1] > a[:, 0], 1.0, 0.0))
    b = a[::-1]
    moved = pairwise_temporal_iou(a * scale + shift, b * scale + shift)
    # float rounding of the moved coordinates can change lengths by ~1e-13 of |coord|
    keep = np.minimum((a[:, 1] - a[:, 0])[:, None], (b[:, 1] - b[:, 0])[None, :]) > 1e-3
    np.testing.assert_allclose(moved[keep], pairwise_temporal_iou(a, b)[keep], atol=1e-6)


# ---------------------------------------------------------------- Soft-NMS

nms_params = dict(alpha=st.floats(0.05, 2.0), low=st.floats(0.0, 0.9),
                  span=st.floats(0.0, 0.5), top_k=st.integers(0, 20))


@SETTINGS
@given(props=candidates(), **nms_params)
def test_soft_nms_matches_loop_and_keeps_its_invariants(props, alpha, low, span, top_k):
    high = min(low + span, 1.0)
    out = mmaction2_soft_nms(props, alpha, low, high, top_k)
    ref = soft_nms_loop(props, alpha, low, high, top_k)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-15)
    assert out.shape == (min(len(props), top_k + 1), 3)  # MMAction2's top_k + 1, spec §3.7
    # kept in decreasing decayed score; decay only lowers scores and keeps them positive
    assert (np.diff(out[:, 2]) <= 0).all()
    for tmin, tmax, score in out:
        rows = np.flatnonzero((props[:, 0] == tmin) & (props[:, 1] == tmax))
        assert rows.size and 0 < score <= props[rows, 2].max()
    # the best candidate always survives undecayed
    np.testing.assert_array_equal(out[0], props[props[:, 2].argmax()])


@SETTINGS
@given(props=candidates(), data=st.data(), **nms_params)
def test_soft_nms_ignores_input_order(props, alpha, low, span, top_k, data):
    perm = data.draw(st.permutations(range(len(props))))
    high = min(low + span, 1.0)
    np.testing.assert_array_equal(mmaction2_soft_nms(props[list(perm)], alpha, low, high, top_k),
                                  mmaction2_soft_nms(props, alpha, low, high, top_k))


@SETTINGS
@given(n=st.integers(1, 12), data=st.data(), **nms_params)
def test_soft_nms_is_identity_and_idempotent_without_overlaps(n, data, alpha, low, span, top_k):
    # n disjoint segments: every IoU is 0, so no score decays
    edges = np.sort(data.draw(arrays(np.float64, 2 * n, elements=st.floats(0, 1), unique=True)))
    scores = data.draw(arrays(np.float64, n, elements=st.floats(1e-3, 1), unique=True))
    props = np.stack([edges[0::2], edges[1::2], scores], axis=1)
    high = min(low + span, 1.0)
    once = mmaction2_soft_nms(props, alpha, low, high, top_k)
    np.testing.assert_array_equal(once, props[np.argsort(-scores)][:top_k + 1])
    np.testing.assert_array_equal(mmaction2_soft_nms(once, alpha, low, high, top_k), once)


def test_soft_nms_decays_an_overlapping_duplicate_by_the_gaussian():
    props = np.array([[0.1, 0.5, 0.9], [0.1, 0.5, 0.8], [0.6, 0.9, 0.3]])
    out = mmaction2_soft_nms(props, alpha=0.4, low_threshold=0.5, high_threshold=0.9, top_k=5)
    # identical segment: IoU 1 -> 0.8 * exp(-1 / 0.4); the disjoint one is untouched
    np.testing.assert_allclose(out, [[0.1, 0.5, 0.9], [0.6, 0.9, 0.3],
                                     [0.1, 0.5, 0.8 * math.exp(-2.5)]])


# ---------------------------------------------------------------- parsers

@SETTINGS
@given(st.binary(max_size=200))
def test_annotation_reader_on_arbitrary_bytes(tmp_path, raw):
    path = tmp_path / 'ann.json'
    path.write_bytes(raw)
    try:
        data = load_annotation_json(str(path))
    except ValueError as e:
        assert str(path) in str(e)
    else:
        assert isinstance(data, dict)
        assert data == json.loads(raw.decode('utf-8'))


@SETTINGS
@given(st.dictionaries(st.sampled_from(['duration_second', 'duration_frame', 'feature_frame',
                                        'annotations', 'other']), json_values, max_size=5)
       | json_values)
def test_record_validation_names_file_and_video_or_returns_sane_values(record):
    try:
        out = validate_record('ann.json', 'v_vid', record)
    except (ValueError, KeyError) as e:
        assert 'ann.json: video v_vid' in str(e)
        return
    assert out['duration_second'] > 0 and out['duration_frame'] > 0 and out['feature_frame'] > 0
    for ann in out['annotations']:
        start_s, end_s = ann['segment']
        assert math.isfinite(start_s) and math.isfinite(end_s) and start_s <= end_s


@st.composite
def valid_annotation_files(draw):
    names = draw(st.lists(st.text('abcdefXYZ_-0123456789', min_size=1, max_size=11),
                          min_size=1, max_size=4, unique=True))
    data = {}
    for name in names:
        duration = draw(st.floats(1, 500))
        segs = draw(st.lists(st.tuples(st.floats(0, duration), st.floats(0, duration)), max_size=3))
        data['v_' + name] = dict(
            duration_second=duration, duration_frame=draw(st.integers(16, 10**5)),
            feature_frame=draw(st.integers(16, 10**5)),
            annotations=[{'segment': sorted(s), 'label': 'x'} for s in segs])
    return data


@pytest.mark.filterwarnings('ignore:.*zero-length')
@SETTINGS
@given(valid_annotation_files(), st.data())
def test_valid_files_round_trip_and_every_truncation_is_refused(tmp_path, data, draw):
    text = json.dumps(data)
    path = tmp_path / 'ann.json'
    path.write_text(text)
    assert load_annotation_json(str(path)) == data
    for name, record in data.items():
        out = validate_record(str(path), name, record)
        assert out['duration_second'] == record['duration_second']
        assert [a['segment'] for a in out['annotations']] == [
            [float(a['segment'][0]), float(a['segment'][1])] for a in record['annotations']]
    cut = draw.draw(st.integers(0, len(text) - 1))
    path.write_text(text[:cut])
    with pytest.raises(ValueError, match='ann.json: invalid or truncated JSON'):
        load_annotation_json(str(path))


@SETTINGS
@given(json_values)
def test_results_reader_fails_only_with_its_own_error(tmp_path, value):
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(value))
    try:
        out = read_results(str(path))
    except FormatError as e:
        assert 'results.json' in str(e)
        return
    for rec in out.values():
        assert rec['segments'].shape == (len(rec['scores']), 2)
        assert np.isfinite(rec['segments']).all()
