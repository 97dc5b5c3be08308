"""init_localizer / inference_localizer on a tiny BMN, and the §1.1 resampling rule."""
import numpy as np
import pytest
import torch

from mmloc.apis import inference_localizer, init_localizer
from mmloc.datasets.transforms.resample import resample_feature
from mmloc.models.localizers.bmn import bmn_candidates
from mmloc.models.utils import post_processing


def loop_resample(feature, temporal_dim, num_sub=3, eps=1e-4):
    """Independent reference of MMAction2's feature post-processing (spec §1.1): explicit
    linear interpolation between the two neighbouring rows, mean of the sub-samples."""
    feature = np.asarray(feature, dtype=np.float64)
    length = feature.shape[0]
    if length == 1:
        return np.repeat(feature, temporal_dim, axis=0)
    start, stop = eps, length - 1 - eps
    size = (stop - start) / temporal_dim
    out = np.zeros((temporal_dim, feature.shape[1]))
    for k in range(temporal_dim):
        acc = np.zeros(feature.shape[1])
        for j in range(num_sub):
            x = start + k * size + j * size / num_sub
            lo = int(np.floor(x))
            hi = min(lo + 1, length - 1)
            w = x - lo
            acc += (1 - w) * feature[lo] + w * feature[hi]
        out[k] = acc / num_sub
    return out


@pytest.mark.parametrize('length', [1, 2, 7, 16, 45])
def test_resample_matches_loop_reference(length):
    feat = np.random.default_rng(length).normal(size=(length, 5)).astype(np.float32)
    got = resample_feature(feat, 16)
    assert got.shape == (16, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got, loop_resample(feat, 16), rtol=1e-5, atol=1e-6)


def test_resample_of_a_linear_ramp_is_the_anchor_mean_position():
    # f(x) = x: anchor k's value is the mean sub-sample position (hand formula, spec §1.1)
    length, t = 11, 4
    feat = np.arange(length, dtype=np.float32)[:, None]
    size = (length - 1 - 2e-4) / t
    expected = 1e-4 + np.arange(t) * size + size / 3  # mean of j*size/3 for j = 0, 1, 2
    np.testing.assert_allclose(resample_feature(feat, t)[:, 0], expected, rtol=1e-6)


@pytest.fixture(scope='module')
def model(tiny_bmn):
    return init_localizer(tiny_bmn['config'], tiny_bmn['checkpoint'])


def _reference_proposals(model, feat_ct, duration_s):
    """tensor-mode outputs -> candidates -> Soft-NMS, scaled by the duration."""
    with torch.no_grad():
        bm, start, end = model(torch.from_numpy(feat_ct)[None], mode='tensor')
    rows = bmn_candidates(start[0].numpy(), end[0].numpy(), bm[0, 1].numpy(), bm[0, 0].numpy())
    return post_processing(rows, duration_s, model.soft_nms_alpha, model.soft_nms_low_threshold,
                           model.soft_nms_high_threshold, model.post_process_top_k)


def test_checkpoint_is_loaded(tiny_bmn, model):
    ckpt = torch.load(tiny_bmn['checkpoint'], weights_only=True)['state_dict']
    for name, value in ckpt.items():
        assert torch.equal(model.state_dict()[name], value), name
    assert not model.training


def test_proposals_in_seconds_on_the_snippet_grid(model, tiny_bmn):
    T, C = tiny_bmn['T'], tiny_bmn['C']
    feat = np.random.default_rng(0).random((T, C), dtype=np.float32)
    duration_s = 122.99
    props = inference_localizer(model, feat, duration_s=duration_s)
    assert 0 < len(props) <= model.post_process_top_k
    scores = np.array([p['score'] for p in props])
    segments = np.array([p['segment'] for p in props])
    assert np.all(np.diff(scores) <= 0)
    assert np.all(segments >= 0) and np.all(segments <= duration_s + 1e-9)
    assert np.all(segments[:, 1] > segments[:, 0])
    # BMN proposals are [s/T, e/T]: in seconds, integer multiples of duration / T
    grid = segments / duration_s * T
    np.testing.assert_allclose(grid, np.round(grid), atol=1e-9)
    ref_segments, ref_scores = _reference_proposals(model, np.ascontiguousarray(feat.T),
                                                    duration_s)
    np.testing.assert_allclose(segments, ref_segments, rtol=1e-12)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-12)


def test_longer_and_shorter_sequences_are_resampled(model, tiny_bmn):
    T, C = tiny_bmn['T'], tiny_bmn['C']
    for length in (5, 41):
        feat = np.random.default_rng(length).random((length, C), dtype=np.float32)
        props = inference_localizer(model, feat, duration_s=60.0)
        same = inference_localizer(model, resample_feature(feat, T), duration_s=60.0)
        assert props == same


def test_fps_gives_the_duration(model, tiny_bmn):
    C = tiny_bmn["C"]
    feat = np.random.default_rng(3).random((40, C), dtype=np.float32)
    # 40 snippets x 16 frames at 32 fps = 20 s
    assert inference_localizer(model, feat, fps=32.0) == \
        inference_localizer(model, feat, duration_s=20.0)
    assert inference_localizer(model, feat, fps=32.0, frames_per_snippet=8) == \
        inference_localizer(model, feat, duration_s=10.0)


def test_csv_and_npy_files(model, tiny_bmn, tmp_path):
    C = tiny_bmn['C']
    feat = np.round(np.random.default_rng(4).random((23, C)), 4).astype(np.float32)
    csv = tmp_path / 'v_x.csv'
    np.savetxt(csv, feat, delimiter=',', fmt='%.4f',
               header=','.join(f'f{i}' for i in range(C)), comments='')
    npy = tmp_path / 'v_x.npy'
    np.save(npy, feat)
    expected = inference_localizer(model, feat, duration_s=30.0)
    assert inference_localizer(model, str(csv), duration_s=30.0) == expected
    assert inference_localizer(model, npy, duration_s=30.0) == expected


def test_errors_name_the_problem(model, tiny_bmn, tmp_path):
    T, C = tiny_bmn['T'], tiny_bmn['C']
    bad = tmp_path / 'v_bad.npy'
    np.save(bad, np.zeros((T, C + 4), dtype=np.float32))
    with pytest.raises(ValueError, match=f'v_bad.npy: expected {C} feature columns'):
        inference_localizer(model, str(bad), duration_s=10.0)
    with pytest.raises(ValueError, match='give duration_s, or fps'):
        inference_localizer(model, np.zeros((T, C), dtype=np.float32))
    with pytest.raises(ValueError, match=r'expected a \(L, C\) feature array'):
        inference_localizer(model, np.zeros((0, C), dtype=np.float32), duration_s=1.0)


def test_tem_is_refused_with_a_clear_message(tmp_path):
    from tiny_localizers import make_tiny
    tem = init_localizer(make_tiny('TEM', tmp_path)['config'])
    with pytest.raises(TypeError, match='no proposals'):
        inference_localizer(tem, np.zeros((16, 16), dtype=np.float32), duration_s=1.0)
