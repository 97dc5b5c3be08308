"""BM-map heat-map, tools/analysis/plot_ar_an.py and tools/analysis/visualize_proposals.py."""
import importlib.util
import json
import os.path as osp

import matplotlib.image as mpimg
import numpy as np
import pytest

from mmloc.visualization import gt_bm_cells, plot_bm_map

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    spec = importlib.util.spec_from_file_location(osp.basename(rel)[:-3] + '_tool',
                                                  osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _png(path):
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.01  # something is drawn
    return img


# ----------------------------------------------------------------------------- BM map
def test_gt_bm_cells_hand_computed():
    # [0.2, 0.5] with T=10 is the BM cell s=2, d=2 ([2/10, (2+2+1)/10]); [0, 1] is d=T-1
    np.testing.assert_allclose(gt_bm_cells(np.array([[0.2, 0.5], [0.0, 1.0]]), 10),
                               [[2.0, 2.0], [0.0, 9.0]])
    np.testing.assert_allclose(gt_bm_cells(np.array([[0.25, 0.3]]), 100), [[25.0, 4.0]])


def test_plot_bm_map_writes_png(tmp_path):
    T = 12
    d, s = np.meshgrid(np.arange(T), np.arange(T), indexing='ij')
    maps = np.stack([np.exp(-((s - 3) ** 2 + (d - 4) ** 2) / 8.0), (s + d) / (2 * T)])
    out = plot_bm_map(maps, str(tmp_path / 'sub' / 'bm.png'),
                      gt_segments_norm=np.array([[0.25, 0.65]]), suptitle='test')
    assert out == str(tmp_path / 'sub' / 'bm.png')
    img = _png(out)
    # two panels side by side: wider than tall
    assert img.shape[1] > 1.5 * img.shape[0]
    assert not osp.exists(out + '.tmp.png')
    plot_bm_map(maps[0], str(tmp_path / 'one.png'))
    _png(tmp_path / 'one.png')


def test_plot_bm_map_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r'expected \(T, T\) or \(K, T, T\)'):
        plot_bm_map(np.zeros((2, 4, 5)), str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match='1 titles for 2 maps'):
        plot_bm_map(np.zeros((2, 4, 4)), str(tmp_path / 'x.png'), titles=['a'])


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def small_set(tmp_path_factory):
    """Two videos in MMAction2's annotation layout and two results files: one that hits every
    GT exactly and one that misses everything (AR known by hand)."""
    root = tmp_path_factory.mktemp('plot_set')
    anno = {
        'v_vidA': dict(duration_second=100.0, duration_frame=1000, feature_frame=800,
                       annotations=[dict(segment=[10.0, 30.0], label='run'),
                                    dict(segment=[50.0, 70.0], label='jump')]),
        'v_vidB': dict(duration_second=40.0, duration_frame=400, feature_frame=400,
                       annotations=[dict(segment=[5.0, 20.0], label='run')]),
    }
    gt = root / 'anno.json'
    gt.write_text(json.dumps(anno))
    hit = {'results': {'vidA': [{'score': 0.9, 'segment': [10.0, 30.0]},
                                {'score': 0.8, 'segment': [50.0, 70.0]}],
                       'vidB': [{'score': 0.7, 'segment': [5.0, 20.0]}]}}
    miss = {'results': {'vidA': [{'score': 0.9, 'segment': [80.0, 90.0]}],
                        'vidB': [{'score': 0.5, 'segment': [30.0, 39.0]}]}}
    (root / 'hit.json').write_text(json.dumps(hit))
    (root / 'miss.json').write_text(json.dumps(miss))
    return root


# ----------------------------------------------------------------------------- plot_ar_an
def test_plot_ar_an_tool_compares_files(small_set, tmp_path, capsys):
    tool = load_tool('tools/analysis/plot_ar_an.py')
    out = tmp_path / 'ar_an.png'
    curves = tool.main([str(small_set / 'hit.json'), str(small_set / 'miss.json'),
                        '--gt', str(small_set / 'anno.json'), '--labels', 'exact', 'off',
                        '--out', str(out)])
    assert list(curves) == ['exact', 'off']
    # By hand (official AR@AN rules): 3 proposals for V=2 videos, so ratio = 100*2/3 and at
    # AN point j the videos keep int(P_v * (j+1)*2/3) proposals. Point 0: vidA keeps 1 of 2
    # (one GT of 2 found), vidB keeps 0 -> recall 1/3 at every tIoU; from point 1 on all
    # proposals are kept and every GT has IoU 1 -> recall 1.
    # AUC = 100 * trapezoid(recall, AN = 1..100) / 100 = (1/3 + 1)/2 + 98.
    expected = np.ones(100)
    expected[0] = 1 / 3
    np.testing.assert_allclose(curves['exact']['avg_recall'], expected)
    np.testing.assert_allclose(curves['exact']['proposals_per_video'], np.arange(1, 101))
    auc = (1 / 3 + 1) / 2 + 98
    assert curves['exact']['auc'] == pytest.approx(auc)
    np.testing.assert_allclose(curves['off']['avg_recall'], 0.0)
    assert curves['off']['auc'] == 0.0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {'exact': {'AR@1': pytest.approx(1 / 3), 'AR@5': 1.0, 'AR@10': 1.0,
                                 'AR@100': 1.0, 'auc': pytest.approx(auc)},
                       'off': {'AR@1': 0.0, 'AR@5': 0.0, 'AR@10': 0.0, 'AR@100': 0.0,
                               'auc': 0.0}}
    _png(out)
    with pytest.raises(ValueError, match='1 labels for 2 results files'):
        tool.ar_an_curves([str(small_set / 'hit.json')] * 2, str(small_set / 'anno.json'),
                          labels=['a'])


# ----------------------------------------------------------------------------- visualize_proposals
def test_normalised_gt_uses_corrected_second():
    tool = load_tool('tools/analysis/visualize_proposals.py')
    # spec §10 golden value: 10 s, 10 frames, feature_frame 8, [3, 5] s -> [0.375, 0.625]
    rec = dict(duration_second=10, duration_frame=10, feature_frame=8)
    np.testing.assert_allclose(tool.normalised_gt([[3.0, 5.0]], rec), [[0.375, 0.625]])
    # official layout: only a duration
    np.testing.assert_allclose(tool.normalised_gt([[3.0, 5.0]], dict(duration=20.0)),
                               [[0.15, 0.25]])


def test_visualize_proposals_timelines(small_set, tmp_path):
    tool = load_tool('tools/analysis/visualize_proposals.py')
    written = tool.main([str(small_set / 'hit.json'), '--gt', str(small_set / 'anno.json'),
                         '--out-dir', str(tmp_path), '--num-videos', '5', '--top-k', '2'])
    assert [osp.basename(p) for p in written] == ['timeline_v_vidA.png', 'timeline_v_vidB.png']
    for path in written:
        _png(path)
    only = tool.main([str(small_set / 'hit.json'), '--gt', str(small_set / 'anno.json'),
                      '--out-dir', str(tmp_path / 'one'), '--videos', 'v_vidB'])
    assert [osp.basename(p) for p in only] == ['timeline_v_vidB.png']
    with pytest.raises(KeyError, match='nope'):
        tool.main([str(small_set / 'hit.json'), '--gt', str(small_set / 'anno.json'),
                   '--out-dir', str(tmp_path), '--videos', 'nope'])


def test_visualize_proposals_bm_map_for_bmn(small_set, tiny_models, tmp_path):
    tool = load_tool('tools/analysis/visualize_proposals.py')
    bmn = tiny_models['BMN']
    feats = tmp_path / 'features'
    feats.mkdir()
    rng = np.random.default_rng(0)
    np.save(feats / 'v_vidA.npy', rng.random((bmn['T'], bmn['C'])).astype(np.float32))
    np.save(feats / 'v_vidB.npy', rng.random((37, bmn['C'])).astype(np.float32))  # resampled
    written = tool.main([str(small_set / 'hit.json'), '--gt', str(small_set / 'anno.json'),
                         '--out-dir', str(tmp_path / 'vis'), '--config', bmn['config'],
                         '--checkpoint', bmn['checkpoint'], '--feature-dir', str(feats)])
    names = [osp.basename(p) for p in written]
    assert names == ['timeline_v_vidA.png', 'bm_map_v_vidA.png', 'timeline_v_vidB.png',
                     'bm_map_v_vidB.png']
    for path in written:
        _png(path)

    from mmloc.apis import init_localizer
    model = init_localizer(bmn['config'], bmn['checkpoint'])
    maps = tool.bm_maps_of_video(model, str(feats / 'v_vidB.npy'))
    assert maps.shape == (2, bmn['T'], bmn['T'])
    assert np.all((maps >= 0) & (maps <= 1))
    with pytest.raises(SystemExit, match='together'):
        tool.main([str(small_set / 'hit.json'), '--gt', str(small_set / 'anno.json'),
                   '--out-dir', str(tmp_path), '--config', bmn['config']])
