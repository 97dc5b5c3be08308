"""Synthetic THUMOS-like data through the AFSD dataset and transforms into the model."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmloc.testing.synthetic_afsd import SyntheticAFSDConfig, generate_synthetic_afsd
from mmloc.datasets.thumos_afsd_dataset import ThumosAFSDDataset
from mmloc.datasets.transforms.afsd_transforms import (AFSD_META_KEYS, AFSD_TEST_KEYS,
                                                       AFSD_TRAIN_KEYS)
from mmloc.registry import MODELS

TRAIN_PACK = dict(type='PackLocalizationInputs', keys=AFSD_TRAIN_KEYS, meta_keys=AFSD_META_KEYS)
TEST_PACK = dict(type='PackLocalizationInputs', keys=AFSD_TEST_KEYS, meta_keys=AFSD_META_KEYS)


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_afsd')
    cfg = SyntheticAFSDConfig(num_classes=2, frame_size=40, min_frames=40, max_frames=60)
    generate_synthetic_afsd(str(root), num_train=3, num_test=2, seed=1, cfg=cfg)
    return root


def files(root, subset, modality='frames/rgb'):
    a = root / 'thumos_annotations'
    return dict(ann_file=str(a / f'{subset}_Annotation_ours.csv'),
                video_info_file=str(a / f'{subset}_video_info.csv'),
                class_index_file=str(a / 'Class_Index_Detection.txt'),
                data_prefix=dict(frames=str(root / modality)))


def test_generated_csvs_round_trip(synth):
    ds = ThumosAFSDDataset(pipeline=[], clip_length=32, test_mode=True, **files(synth, 'test'))
    assert ds.metainfo['classes'] == ('SynthJump', 'SynthThrow')
    info = ds.get_data_info(0)
    frames = np.load(info['frame_path'])
    assert frames.dtype == np.uint8 and frames.shape == (info['sample_count'], 40, 40, 3)
    # resampled-frame GTs are the seconds x 10 (sample_count / count = 1/3, fps 30)
    np.testing.assert_allclose(info['gt_segments'] * 10,
                               [[a['segment'][0] * 10, a['segment'][1] * 10]
                                for a in info['annotations']], rtol=1e-5)


def test_training_pipeline_to_loss(synth):
    pipeline = [dict(type='LoadAFSDFrames'), dict(type='AFSDRandomCrop', size=32),
                dict(type='AFSDRandomFlip'), dict(type='AFSDBoundaryLabels'),
                dict(type='AFSDContrastiveClip'), TRAIN_PACK]
    ds = ThumosAFSDDataset(pipeline=pipeline, clip_length=32, clip_stride=8,
                           **files(synth, 'val'))
    assert len(ds) > 0
    np.random.seed(0)
    items = [ds[i] for i in range(min(len(ds), 3))]
    for item in items:
        assert item['inputs'].shape == (3, 32, 32, 32) and item['inputs'].dtype == torch.uint8
        gt = item['data_samples'].gt_instances
        assert gt.segments.min() >= 1 / 32 - 1e-6 and gt.segments.max() <= 1
        assert item['data_samples'].start_labels.shape == (32,)
    batch = pseudo_collate(items)
    model = MODELS.build(dict(type='AFSD', net=dict(
        type='AFSDNet', num_classes=3, clip_length=32, crop_size=32, width=16, num_levels=4,
        gn_groups=4, freeze_bn=False,
        backbone=dict(type='TinyVideoBackbone', c4_channels=8, c5_channels=16, base_channels=4))))
    losses = model(batch['inputs'], batch['data_samples'], mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())


def test_test_pipeline_and_feature_variant(synth):
    pipeline = [dict(type='LoadAFSDFrames'), dict(type='AFSDCenterCrop', size=32), TEST_PACK]
    ds = ThumosAFSDDataset(pipeline=pipeline, clip_length=32, test_mode=True,
                           **files(synth, 'test'))
    item = ds[0]
    assert item['inputs'].shape[0] == 3 and item['inputs'].shape[2:] == (32, 32)
    meta = item['data_samples'].metainfo
    assert meta['annotations'] and meta['sample_fps'] == 10.0
    feats = ThumosAFSDDataset(pipeline=[dict(type='LoadAFSDFrames'),
                                        dict(type='AFSDBoundaryLabels'),
                                        TRAIN_PACK],
                              clip_length=32, clip_stride=8, feature_stride=4,
                              **files(synth, 'val', 'features'))
    item = feats[len(feats) - 1]
    assert item['inputs'].shape == (32, 8) and item['inputs'].dtype == torch.float32
    assert feats.get_data_info(len(feats) - 1)['offset'] % 4 == 0


def test_missing_frame_file_names_video(synth, tmp_path):
    ds = ThumosAFSDDataset(pipeline=[dict(type='LoadAFSDFrames')], clip_length=32,
                           test_mode=True, **dict(files(synth, 'test'),
                                                  data_prefix=dict(frames=str(tmp_path))))
    with pytest.raises(FileNotFoundError, match='video_test_0000000'):
        ds[0]


def test_pack_afsd_inputs_is_a_deprecated_alias(synth):
    from mmloc.datasets.transforms import PackLocalizationInputs
    from mmloc.registry import TRANSFORMS
    with pytest.warns(FutureWarning, match='PackLocalizationInputs'):
        alias = TRANSFORMS.build(dict(type='PackAFSDInputs'))
    assert isinstance(alias, PackLocalizationInputs)
    for subset, test_mode in (('val', False), ('test', True)):
        ds = ThumosAFSDDataset(pipeline=[dict(type='LoadAFSDFrames'),
                                         dict(type='AFSDBoundaryLabels')][:2 - test_mode],
                               clip_length=32, clip_stride=8, test_mode=test_mode,
                               **files(synth, subset, 'features'))
        res = ds[0]
        new = TRANSFORMS.build(TEST_PACK if test_mode else TRAIN_PACK)(dict(res))
        old = alias(dict(res))
        assert torch.equal(new['inputs'], old['inputs'])
        for key in ('segments', 'labels'):
            assert torch.equal(new['data_samples'].gt_instances[key],
                               old['data_samples'].gt_instances[key])
        assert new['data_samples'].metainfo.keys() == old['data_samples'].metainfo.keys()
        if test_mode:  # seconds and 0-based class ids for the metric
            gt = new['data_samples'].gt_instances
            anns = res['annotations']
            np.testing.assert_allclose(gt.segments.numpy(), [a['segment'] for a in anns],
                                       rtol=1e-6)
            assert [ds.metainfo['classes'][i] for i in gt.labels.tolist()] == [
                a['label'] for a in anns]
        else:  # normalised by L, 1-based
            np.testing.assert_array_equal(
                new['data_samples'].gt_instances.segments.numpy(),
                res['window_gts'][:, :2] / np.float32(32))
            assert new['data_samples'].gt_instances.labels.min() >= 1
