"""FeatureDataset: layouts, file formats, the three fit modes and clear errors."""
import json

import numpy as np
import pytest
import torch

from mmloc.datasets import FeatureDataset, localization_collate
from mmloc.datasets.transforms import read_feature_file
from mmloc.structures import TimeGrid
from mmloc.utils import register_all_modules

register_all_modules()
PIPE = [dict(type='LoadLocalizationFeature'), dict(type='SegmentsToGrid', unit='index'),
        dict(type='PackLocalizationInputs', meta_keys=('video_name', 'annotations'))]


def _write(tmp_path, lengths=(30, 75), ext='.npy', layout='database'):
    rng = np.random.default_rng(0)
    recs = {}
    (tmp_path / 'f').mkdir(exist_ok=True)
    for i, n in enumerate(lengths):
        vid = f'vid{i}'
        feat = rng.normal(size=(n, 6)).astype(np.float32)
        path = tmp_path / 'f' / f'{vid}{ext}'
        if ext == '.npy':
            np.save(path, feat)
        elif ext == '.npz':
            np.savez(path, feats=feat)
        elif ext == '.pt':
            torch.save(torch.from_numpy(feat), path)
        else:
            np.savetxt(path, feat, delimiter=',', header=','.join('c' * 6), comments='')
        recs[vid] = dict(subset='training', duration=n * 4 / 10 + 0.8, fps=10.0,
                         annotations=[dict(segment=[1.0, 2.5], label='b'),
                                      dict(segment=[0.2, 0.6], label='a')])
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(database=recs) if layout == 'database' else recs))
    return ann


@pytest.mark.parametrize('ext', ['.npy', '.npz', '.pt', '.csv'])
def test_formats_read_the_same_array(tmp_path, ext):
    ann = _write(tmp_path, ext=ext)
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        feature_name_tmpl='{}' + ext, feat_stride=4, feat_num_frames=8)
    item = ds[0]
    assert item['inputs'].shape == (6, 30)
    assert ds.metainfo['classes'] == ('a', 'b')
    # GT seconds -> grid index with the one formula: g = t * fps / stride - window / 2 / stride
    grid = TimeGrid.from_features(30, 10.0, 4, 8)
    seg = item['data_samples'].gt_instances.segments.numpy()
    np.testing.assert_allclose(seg, [[1.0 * 2.5 - 1, 2.5 * 2.5 - 1], [0, 0.6 * 2.5 - 1]],
                               rtol=1e-6)
    assert grid.seconds_to_index(1.0) == pytest.approx(1.5)
    assert item['data_samples'].gt_instances.labels.tolist() == [1, 0]


def test_mmaction2_layout_and_missing_files(tmp_path):
    ann = _write(tmp_path, lengths=(30, 40, 50), layout='mmaction2')
    (tmp_path / 'f' / 'vid1.npy').unlink()
    with pytest.raises(FileNotFoundError, match='1 of 3 feature files are missing.*vid1'):
        FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')), fps=10)
    (tmp_path / 'missing.txt').write_text('# no features\nvid1\n')
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        missing_files=str(tmp_path / 'missing.txt'))
    assert [ds.get_data_info(i)['video_name'] for i in range(len(ds))] == ['vid0', 'vid2']


def test_resize_mode_resizes_features_and_grid(tmp_path):
    ann = _write(tmp_path)
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        feat_stride=4, feat_num_frames=8, fit_mode='resize', num_steps=16)
    for i in range(2):
        item = ds[i]
        assert item['inputs'].shape == (6, 16)
        grid = item['data_samples'].time_grid
        assert grid.num_steps == 16
        # the resized grid covers the same frames: 0 .. (T - 1) * stride + window
        n = [30, 75][i]
        assert grid.index_to_seconds(-0.5) == pytest.approx(0.0)
        assert grid.index_to_seconds(15.5) == pytest.approx(((n - 1) * 4 + 8) / 10.0)


def test_sliding_mode_windows_cover_the_video(tmp_path):
    ann = _write(tmp_path, lengths=(30, 75))
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        feat_stride=4, feat_num_frames=8, fit_mode='sliding', num_steps=32,
                        window_stride=16)
    windows = [(ds.get_data_info(i)['video_name'], ds.get_data_info(i)['window'][0])
               for i in range(len(ds))]
    assert windows == [('vid0', 0), ('vid1', 0), ('vid1', 16), ('vid1', 32), ('vid1', 43)]
    full = read_feature_file(str(tmp_path / 'f' / 'vid1.npy'))
    item = ds[3]
    np.testing.assert_array_equal(item['inputs'].numpy(), full[32:64].T)
    grid = item['data_samples'].time_grid
    assert grid.index_to_seconds(0) == pytest.approx(TimeGrid.from_features(75, 10, 4, 8)
                                                     .index_to_seconds(32))


def test_collate_pads_and_masks(tmp_path):
    ann = _write(tmp_path, lengths=(30, 75))
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')))
    batch = localization_collate([ds[0], ds[1]], pad_to_multiple=32)
    assert batch['inputs'].shape == (2, 6, 96)
    assert batch['inputs'][0, :, 30:].abs().sum() == 0
    assert batch['data_samples'][0].input_mask.sum() == 30
    with pytest.raises(ValueError, match='pad_to_length=50'):
        localization_collate([ds[0], ds[1]], pad_to_length=50)


def test_bad_inputs_name_the_file_video_and_field(tmp_path):
    ann = _write(tmp_path)
    data = json.loads(ann.read_text())
    data['database']['vid0']['annotations'][0]['label'] = 'zzz'
    ann.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'ann.json: video vid0: annotations\[0\].label'):
        FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                       classes=('a', 'b'))
    del data['database']['vid0']['duration']
    ann.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='video vid0: needs a positive "duration"'):
        FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')))
    with pytest.raises(ValueError, match='fit_mode'):
        FeatureDataset(str(ann), PIPE, fit_mode='stretch')


def test_class_ids_from_the_file(tmp_path):
    ann = _write(tmp_path)
    data = json.loads(ann.read_text())
    for rec in data['database'].values():
        for a in rec['annotations']:
            a['label_id'] = {'a': 1, 'b': 0}[a['label']]
    ann.write_text(json.dumps(data))
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        feat_stride=4, feat_num_frames=8)
    assert ds.metainfo['classes'] == ('b', 'a')
    assert ds[0]['data_samples'].gt_instances.labels.tolist() == [0, 1]
    data['classes'] = ['a', 'b']
    ann.write_text(json.dumps(data))
    ds = FeatureDataset(str(ann), PIPE, data_prefix=dict(feature=str(tmp_path / 'f')),
                        feat_stride=4, feat_num_frames=8)
    assert ds.metainfo['classes'] == ('a', 'b')


def test_standardize_feature_per_channel_and_in_a_pipeline(tmp_path):
    from mmloc.datasets.transforms import StandardizeFeature, standardize_feature
    rng = np.random.default_rng(1)
    # a random extractor's kind of output: a constant vector plus changes of a few per cent
    base = rng.uniform(0.005, 0.02, size=(6, 1))
    feat = (base + 3e-4 * rng.normal(size=(6, 40))).astype(np.float32)
    feat[5] = 0.01                                     # a constant channel stays finite
    out = standardize_feature(feat)
    np.testing.assert_allclose(out[:5].mean(1), 0, atol=1e-4)
    np.testing.assert_allclose(out[:5].std(1), 1, atol=1e-2)
    assert np.all(out[5] == 0) and out.dtype == np.float32 and out is not feat
    # the order of the positions is kept: the correlation with the input is 1 per channel
    for c in range(5):
        assert np.corrcoef(out[c], feat[c])[0, 1] > 0.999
    res = StandardizeFeature()(dict(raw_feature=feat.copy()))
    np.testing.assert_allclose(res['raw_feature'], out)
    ds = FeatureDataset(str(_write(tmp_path)), data_prefix=dict(feature=str(tmp_path / 'f')),
                        pipeline=[PIPE[0], dict(type='StandardizeFeature')] + PIPE[1:],
                        fit_mode=None, test_mode=True)
    x = ds[0]['inputs'].numpy()
    np.testing.assert_allclose(x.mean(1), 0, atol=1e-4)
