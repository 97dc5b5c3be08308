import json

import numpy as np
import pytest
import torch

from mmloc.datasets import ActivityNetDataset
from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
from mmloc.datasets.transforms import (GenerateLocalizationLabels, LoadLocalizationFeature,
                                       PackLocalizationInputs, segments_to_normalised)
from mmloc.structures import corrected_second, output_duration_s


def _write_csv(path, array):
    header = ','.join(f'f{i}' for i in range(array.shape[1]))
    np.savetxt(path, array, delimiter=',', header=header, comments='', fmt='%.6f')


def _record(**overrides):
    rec = dict(duration_second=10.0, duration_frame=300, feature_frame=288,
               annotations=[{'segment': [2.0, 5.0], 'label': 'a'}])
    rec.update(overrides)
    return rec


@pytest.fixture
def tiny_set(tmp_path):
    feats = tmp_path / 'feats'
    feats.mkdir()
    rng = np.random.default_rng(0)
    arrays = {}
    for name in ('v_aaa', 'v_bbb'):
        arrays[name] = rng.normal(size=(8, 12)).astype(np.float32)
        _write_csv(feats / f'{name}.csv', arrays[name])
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'v_aaa': _record(), 'v_bbb': _record(annotations=[])}))
    return ann, feats, arrays


def test_time_scale_formulas():
    # spec §1.3 example: 647 frames, feature_frame 624 -> labels use 624, outputs use 640
    assert corrected_second(64.7, 647, 624) == pytest.approx(62.4)
    assert output_duration_s(64.7, 647, 16) == pytest.approx(64.0)


def test_generate_labels_golden():
    # spec §10: duration 10 s, 10 frames, feature_frame 8, segment [3, 5] -> [[0.375, 0.625]]
    out = GenerateLocalizationLabels()(dict(duration_second=10, duration_frame=10, feature_frame=8,
                                            annotations=[{'segment': [3.0, 5.0], 'label': 'x'}]))
    np.testing.assert_allclose(out['gt_segments'], [[0.375, 0.625]])
    assert out['gt_segments'].dtype == np.float64


def test_labels_clip_beyond_duration():
    got = segments_to_normalised(np.array([[-1.0, 4.0], [6.0, 12.0]]), 10.0, 10, 8)
    np.testing.assert_allclose(got, [[0.0, 0.5], [0.75, 1.0]])


def test_dataset_pipeline_end_to_end(tiny_set):
    ann, feats, arrays = tiny_set
    ds = ActivityNetDataset(
        ann_file=str(ann), data_prefix=dict(video=str(feats)),
        pipeline=[dict(type='LoadLocalizationFeature', temporal_dim=8, feat_dim=12),
                  dict(type='GenerateLocalizationLabels'),
                  dict(type='PackLocalizationInputs', keys=('gt_segments',),
                       meta_keys=('video_name', 'duration_second', 'annotations'))])
    assert len(ds) == 2
    item = ds[0]
    np.testing.assert_allclose(item['inputs'].numpy(), arrays['v_aaa'].T, atol=1e-6)
    sample = item['data_samples']
    assert sample.video_name == 'v_aaa'
    assert sample.duration_second == 10.0
    cs = 288 / 300 * 10.0
    np.testing.assert_allclose(sample.gt_instances.segments.numpy(), [[2.0 / cs, 5.0 / cs]])
    assert len(ds[1]['data_samples'].gt_instances.segments) == 0
    assert sample.valid_length == 8


def test_mmaction2_gt_bbox_key_still_packs_with_a_deprecation_warning(tiny_set):
    ann, feats, _ = tiny_set
    from mmloc.datasets.transforms import formatting
    formatting._warned.discard('gt_bbox')
    ds = ActivityNetDataset(
        ann_file=str(ann), data_prefix=dict(video=str(feats)),
        pipeline=[dict(type='LoadLocalizationFeature', temporal_dim=8, feat_dim=12),
                  dict(type='GenerateLocalizationLabels'),
                  dict(type='PackLocalizationInputs', keys=('gt_bbox',))])
    with pytest.warns(FutureWarning, match='gt_bbox'):
        sample = ds[0]['data_samples']
    cs = 288 / 300 * 10.0
    np.testing.assert_allclose(sample.gt_instances.segments.numpy(), [[2.0 / cs, 5.0 / cs]])


def test_pack_rejects_an_unknown_key():
    with pytest.raises(KeyError, match='gt_segmnets'):
        PackLocalizationInputs(keys=('gt_segmnets',))


def test_npy_features(tmp_path):
    feat = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.save(tmp_path / 'v_x.npy', feat)
    out = LoadLocalizationFeature()(dict(feature_path=str(tmp_path / 'v_x.npy')))
    np.testing.assert_array_equal(out['raw_feature'], feat.T)


def test_mmaction2_sample_feature(shared_data):
    path = shared_data / 'mmaction2-testdata' / 'activitynet_features' / 'v_test1.csv'
    out = LoadLocalizationFeature()(dict(feature_path=str(path)))
    assert out['raw_feature'].shape == (400, 5)
    assert out['raw_feature'].dtype == np.float32
    first_row = np.loadtxt(path, delimiter=',', skiprows=1, max_rows=1)
    np.testing.assert_allclose(out['raw_feature'][:, 0], first_row, rtol=1e-6)


def test_mmaction2_sample_annotations(shared_data):
    ann = shared_data / 'mmaction2-testdata' / 'annotations' / 'action_test_anno.json'
    ds = ActivityNetDataset(ann_file=str(ann), pipeline=[dict(type='GenerateLocalizationLabels')],
                            check_files=False)
    np.testing.assert_allclose(ds[0]['gt_segments'], [[0.3, 0.6]])
    np.testing.assert_allclose(ds[1]['gt_segments'], [[0.5, 1.0]])


def test_pack_requires_a_feature():
    with pytest.raises(ValueError, match='raw_feature'):
        PackLocalizationInputs()(dict(video_name='v_x'))


def test_pack_bsp_only_gives_dummy_input():
    out = PackLocalizationInputs(keys=('bsp_feature',))(dict(bsp_feature=np.ones((3, 32))))
    assert out['inputs'].ndim == 0
    assert out['data_samples'].proposals.features.shape == (3, 32)


# ---- clear errors on user mistakes ---------------------------------------------------------

def test_missing_feature_file_names_it(tiny_set):
    ann, feats, _ = tiny_set
    (feats / 'v_bbb.csv').unlink()
    with pytest.raises(FileNotFoundError, match=r'v_bbb\.csv'):
        ActivityNetDataset(ann_file=str(ann), data_prefix=dict(video=str(feats)), pipeline=[])


def test_wrong_feature_shape_names_file(tiny_set):
    ann, feats, _ = tiny_set
    t = LoadLocalizationFeature(temporal_dim=100, feat_dim=12)
    with pytest.raises(ValueError, match=r'v_aaa\.csv.*expected 100 feature rows'):
        t(dict(feature_path=str(feats / 'v_aaa.csv'), video_name='v_aaa'))
    t = LoadLocalizationFeature(temporal_dim=8, feat_dim=400)
    with pytest.raises(ValueError, match=r'expected 400 feature columns \(feat_dim\), got 12'):
        t(dict(feature_path=str(feats / 'v_aaa.csv'), video_name='v_aaa'))


def test_nan_feature_rejected(tmp_path):
    arr = np.zeros((4, 4), np.float32)
    arr[2, 3] = np.nan
    _write_csv(tmp_path / 'v_n.csv', arr)
    with pytest.raises(ValueError, match=r'v_n\.csv.*NaN/Inf.*row 2, column 3'):
        LoadLocalizationFeature()(dict(feature_path=str(tmp_path / 'v_n.csv'), video_name='v_n'))


def test_annotation_without_duration_second(tmp_path):
    ann = tmp_path / 'ann.json'
    rec = _record()
    del rec['duration_second']
    ann.write_text(json.dumps({'v_zzz': rec}))
    with pytest.raises(KeyError, match=r"ann\.json: video v_zzz: missing field\(s\) \['duration_second'\]"):
        ActivityNetDataset(ann_file=str(ann), pipeline=[], check_files=False)


@pytest.mark.parametrize('content, match', [
    (b'{"v_a": {', 'invalid or truncated JSON'),
    (b'\xff\xfe{}', 'not UTF-8'),
    (b'{}', 'empty data split'),
    (b'[1, 2]', 'expected a JSON object'),
])
def test_broken_annotation_files(tmp_path, content, match):
    ann = tmp_path / 'ann.json'
    ann.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        ActivityNetDataset(ann_file=str(ann), pipeline=[], check_files=False)


def test_negative_segment_rejected_zero_length_warned(tmp_path):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'v_neg': _record(annotations=[{'segment': [5, 4], 'label': 'a'}])}))
    with pytest.raises(ValueError, match='v_neg.*ends before it starts'):
        ActivityNetDataset(ann_file=str(ann), pipeline=[], check_files=False)
    ann.write_text(json.dumps({'v_zero': _record(annotations=[{'segment': [4, 4], 'label': 'a'}])}))
    with pytest.warns(UserWarning, match='v_zero.*zero-length'):
        ds = ActivityNetDataset(ann_file=str(ann), pipeline=[], check_files=False)
    assert ds[0]['annotations'][0]['segment'] == [4.0, 4.0]


def test_official_format_is_explained(tmp_path):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'version': 'VERSION 1.3', 'database': {}}))
    with pytest.raises(ValueError, match='official ActivityNet annotation file'):
        ActivityNetDataset(ann_file=str(ann), pipeline=[], check_files=False)


# ---- synthetic generator ------------------------------------------------------------------

def test_synthetic_set_is_seeded_and_well_formed(tmp_path):
    cfg = SyntheticConfig(temporal_dim=20, feat_dim=16, num_classes=3)
    a = generate_synthetic_activitynet(str(tmp_path / 'a'), 6, 3, seed=7, cfg=cfg)
    b = generate_synthetic_activitynet(str(tmp_path / 'b'), 6, 3, seed=7, cfg=cfg)
    train_a = json.loads(open(a['ann_file_train']).read())
    assert train_a == json.loads(open(b['ann_file_train']).read())
    assert len(train_a) == 6
    ds = ActivityNetDataset(ann_file=a['ann_file_train'], data_prefix=dict(video=a['feature_dir']),
                            pipeline=[dict(type='LoadLocalizationFeature', temporal_dim=20,
                                           feat_dim=16)])
    for info in ds:
        assert info['raw_feature'].shape == (16, 20)
        for ann in info['annotations']:
            start_s, end_s = ann['segment']
            assert 0 <= start_s < end_s <= info['duration_second']


def test_synthetic_features_carry_the_actions(tmp_path):
    """Inside actions the features move along class directions: a mean-difference
    projection learnt on some videos separates inside/outside snippets of others well
    above chance, yet not perfectly (noise, drift, distractors, soft boundaries)."""
    cfg = SyntheticConfig(temporal_dim=50, feat_dim=32, num_classes=2)
    paths = generate_synthetic_activitynet(str(tmp_path), 40, 1, seed=1, cfg=cfg)
    ds = ActivityNetDataset(ann_file=paths['ann_file_train'],
                            data_prefix=dict(video=paths['feature_dir']),
                            pipeline=[dict(type='LoadLocalizationFeature'),
                                      dict(type='GenerateLocalizationLabels')])
    centres = (np.arange(50) + 0.5) / 50
    feats, labels = [], []
    for info in ds:
        mask = np.zeros(50, bool)
        for s, e in info['gt_segments']:
            mask |= (centres >= s) & (centres <= e)
        feats.append(info['raw_feature'].T)
        labels.append(mask)
    fit_x, fit_y = np.concatenate(feats[:25]), np.concatenate(labels[:25])
    w = fit_x[fit_y].mean(0) - fit_x[~fit_y].mean(0)
    x, y = np.concatenate(feats[25:]), np.concatenate(labels[25:])
    score = x @ w
    # AUC by the rank-sum formula
    ranks = np.argsort(np.argsort(score)) + 1
    n_pos, n_neg = y.sum(), (~y).sum()
    auc = (ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert 0.75 < auc < 0.995
    assert torch.tensor(x).std() > 0.5
