"""Bit-identity of the SSN data and predictions with the pre-redesign code.

``ssn_legacy_reference.py`` is a frozen copy of the dataset, frame sampler, pack transform
and ``SSN.predict`` as they were before proposal assignment / sampling / sliding-window
proposals moved to ``mmloc.models.task_modules`` and packing to ``PackLocalizationInputs``.
Each test runs the current code (built from the shipped configs) and the frozen copy on the
same seeded inputs and requires equal arrays, dtypes and metainfo: training samples
(proposal segments, labels, types, normalised regression targets, frame indices, scale
factors) over several epochs, test-time proposals (relative segments, ticks, scale factors),
the GT ``annotations`` in seconds, and the predictions of a random-weight model.
"""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from ssn_legacy_reference import (LegacySampleProposalFrames, LegacySSNDataset,
                                  LegacySSNFeatureDataset, legacy_pack_ssn, legacy_ssn_predict)

from mmloc.testing.synthetic_thumos import (SyntheticThumosConfig,
                                             generate_synthetic_thumos_features,
                                             generate_synthetic_thumos_frames)
from mmloc.datasets.transforms.ssn_loading import SSNLoadFeatures
from mmloc.registry import DATASETS, MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'localization' / 'ssn'
#: metainfo the shared pack transform adds on its own (``valid_length`` of a 2-D input)
EXTRA_META = {'valid_length', 'time_grid'}


def _cfg(name):
    return Config.fromfile(str(CONFIGS / name))


def _plain(cfg):
    return copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))


def _legacy_kwargs(ds_cfg: dict, **override) -> dict:
    """The current dataset config as arguments of the frozen dataset (plain dicts)."""
    d = _plain(ds_cfg)
    d.pop('type')
    d.pop('pipeline', None)
    for key in ('assigner', 'sampler'):
        if d.get(key):
            d[key] = {k: v for k, v in d[key].items() if k != 'type'}
    gen = d.pop('proposal_generator', None)
    if gen is not None:
        assert gen['type'] == 'SSNSlidingWindowProposals'
        d.update(window_frames=gen['window_frames'], window_stride=gen['stride_ratio'])
    d.update(override)
    return dict(d, pipeline=[])


class DummyInputs:
    """Stands in for frame decoding: one value per sampled frame."""

    def __call__(self, results):
        results['inputs'] = np.asarray(results['frame_inds'], np.float32)[:, None]
        return results


def _legacy_sampler(entry: dict) -> LegacySampleProposalFrames:
    entry = dict(entry)
    assert entry.pop('type') == 'SampleProposalFrames'
    return LegacySampleProposalFrames(**entry)


def _assert_same_value(a, b, where):
    if isinstance(b, torch.Tensor):
        assert isinstance(a, torch.Tensor) and a.dtype == b.dtype, (where, a, b)
        assert torch.equal(a, b), where
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype, (where, a, b)
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


def assert_same_packed(new: dict, old: dict, where=''):
    """Equal inputs, proposals / gt fields (values and dtypes) and metainfo."""
    _assert_same_value(new['inputs'], old['inputs'], f'{where} inputs')
    ns, os_ = new['data_samples'], old['data_samples']
    for container in ('proposals', 'gt_instances'):
        old_c = getattr(os_, container, None)
        new_c = getattr(ns, container, None)
        old_keys = set(old_c.keys()) if old_c is not None else set()
        new_keys = set(new_c.keys()) if new_c is not None else set()
        assert new_keys == old_keys, (where, container, new_keys, old_keys)
        for key in old_keys:
            _assert_same_value(new_c[key], old_c[key], f'{where} {container}.{key}')
    extra = set(ns.metainfo) - set(os_.metainfo)
    assert extra <= EXTRA_META, (where, extra)
    for key, value in os_.metainfo.items():
        assert key in ns.metainfo, (where, key)
        _assert_same_value(ns.metainfo[key], value, f'{where} meta {key}')


@pytest.fixture(scope='module')
def features(tmp_path_factory):
    root = tmp_path_factory.mktemp('ssn_parity_features')
    paths = generate_synthetic_thumos_features(str(root), num_train=6, num_val=3, seed=11,
                                               cfg=SyntheticThumosConfig(min_duration_s=20,
                                                                         max_duration_s=40))
    return paths


@pytest.fixture(scope='module')
def tag_lists(tmp_path_factory):
    root = tmp_path_factory.mktemp('ssn_parity_frames')
    return generate_synthetic_thumos_frames(str(root), num_val=4, num_test=3, seed=2)


def _feature_datasets(features, split):
    cfg = _cfg('ssn_synthetic_demo_train.py')
    loader = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    ds_cfg = _plain(loader.dataset)
    ds_cfg.update(ann_file=features[f'ann_file_{split}'],
                  data_prefix=dict(video=features['feature_dir']))
    if split == 'val':
        ds_cfg['reg_normalize_constants'] = dict(ann_file=features['ann_file_train'])
    new = DATASETS.build(ds_cfg)
    pipeline = ds_cfg['pipeline']
    assert [p['type'] for p in pipeline][:2] == ['SampleProposalFrames', 'SSNLoadFeatures']
    legacy = LegacySSNFeatureDataset(**_legacy_kwargs(ds_cfg))
    legacy_pipeline = [_legacy_sampler(pipeline[0]), SSNLoadFeatures(), legacy_pack_ssn]
    return new, legacy, legacy_pipeline


def _run(pipeline, results):
    for t in pipeline:
        results = t(results)
    return results


def test_feature_training_samples_bit_identical(features):
    new, legacy, legacy_pipeline = _feature_datasets(features, 'train')
    np.testing.assert_array_equal(new.reg_norm_consts, legacy.reg_norm_consts)
    assert len(new) == len(legacy) > 0
    for epoch in range(3):
        for i in range(len(new)):
            np.random.seed(100 * epoch + i)
            got = new[i]
            np.random.seed(100 * epoch + i)
            ref = _run(legacy_pipeline, legacy[i])
            assert_same_packed(got, ref, f'epoch {epoch} video {i}')


def test_feature_training_raw_samples_bit_identical(features):
    """Before packing: the sampled proposals (frames) and their targets, seeded RNG."""
    cfg = _plain(_cfg('ssn_synthetic_demo_train.py').train_dataloader.dataset)
    cfg.update(ann_file=features['ann_file_train'],
               data_prefix=dict(video=features['feature_dir']), pipeline=[], seed=7)
    new = DATASETS.build(cfg)
    legacy = LegacySSNFeatureDataset(**_legacy_kwargs(cfg))
    for _ in range(2):
        for i in range(len(new)):
            got, ref = new[i], legacy[i]
            for key in ('proposal_segments', 'proposal_labels', 'proposal_type',
                        'reg_targets', 'gt_segments', 'gt_labels', 'reg_norm_consts'):
                _assert_same_value(got[key], ref[key], f'video {i} {key}')


def test_feature_test_samples_bit_identical(features):
    new, legacy, legacy_pipeline = _feature_datasets(features, 'val')
    np.testing.assert_array_equal(new.reg_norm_consts, legacy.reg_norm_consts)
    for i in range(len(new)):
        assert_same_packed(new[i], _run(legacy_pipeline, legacy[i]), f'video {i}')


def _tag_datasets(tag_lists, split):
    name = f'ssn_r50_450e_thumos14_rgb_{split}.py'
    cfg = _cfg(name)
    loader = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    ds_cfg = _plain(loader.dataset)
    ds_cfg.update(ann_file=tag_lists[f'proposal_file_{"val" if split == "train" else "test"}'],
                  data_prefix=dict(video=tag_lists['frame_dir']))
    pipeline = ds_cfg['pipeline']
    assert pipeline[1]['type'] == 'SSNLoadFrames'
    ds_cfg['pipeline'] = [pipeline[0], DummyInputs(), pipeline[-1]]
    new = DATASETS.build(ds_cfg)
    legacy = LegacySSNDataset(**_legacy_kwargs(ds_cfg))
    return new, legacy, [_legacy_sampler(pipeline[0]), DummyInputs(), legacy_pack_ssn]


@pytest.mark.parametrize('split', ['train', 'test'])
def test_tag_list_samples_bit_identical(tag_lists, split):
    new, legacy, legacy_pipeline = _tag_datasets(tag_lists, split)
    np.testing.assert_array_equal(new.reg_norm_consts, legacy.reg_norm_consts)
    for epoch in range(2 if split == 'train' else 1):
        for i in range(len(new)):
            np.random.seed(10 * epoch + i)
            got = new[i]
            np.random.seed(10 * epoch + i)
            assert_same_packed(got, _run(legacy_pipeline, legacy[i]), f'{split} video {i}')


def test_real_thumos14_test_proposals_and_annotations(shared_data):
    """The shared THUMOS14 test annotations: sliding-window proposals, ticks and GT seconds."""
    ann = shared_data / 'thumos14' / 'rtd' / 'thumos14_anno_action.json'
    if not ann.is_file():
        pytest.skip(f'{ann} not found')
    cfg = _cfg('ssn_feature_thumos14_test.py')
    pipeline = _plain(cfg.test_dataloader.dataset)['pipeline']
    kwargs = dict(ann_file=str(ann), subset='test', test_mode=True, window_frames=(64, 256),
                  reg_normalize_constants=[[0, 0], [1, 1]])
    new = DATASETS.build(dict(type='SSNFeatureDataset', **kwargs,
                              pipeline=[pipeline[0], DummyInputs(), pipeline[-1]]))
    legacy = LegacySSNFeatureDataset(**kwargs, pipeline=[])
    legacy_pipeline = [_legacy_sampler(pipeline[0]), DummyInputs(), legacy_pack_ssn]
    assert len(new) == len(legacy) > 200
    for i in range(len(new)):
        assert_same_packed(new[i], _run(legacy_pipeline, legacy[i]), f'video {i}')


def test_random_model_predictions_bit_identical(features):
    new, _, _ = _feature_datasets(features, 'val')
    torch.manual_seed(0)
    model = MODELS.build(_plain(_cfg('ssn_synthetic_demo_train.py').model)).eval()
    for i in range(len(new)):
        item = new[i]
        ref = legacy_ssn_predict(model, [item['inputs']], [item['data_samples']])[0]
        (out, ) = model.predict([item['inputs']], [copy.deepcopy(item['data_samples'])])
        pred = out.pred_instances
        assert len(ref[1]) > 0
        for got, want in zip((pred.segments, pred.scores, pred.labels), ref):
            _assert_same_value(got, want, f'video {i}')
