"""Bit-identity of AFSD with the pre-redesign code.

``afsd_legacy_reference.py`` is a frozen copy of ``AFSDNet``, the localizer's windowing /
loss logic, the dataset's ``load_data_list`` and the label / contrastive / pack transforms as
they were before the network was split into registered neck and head modules, test-time
windowing moved to ``mmloc.models.task_modules`` and packing to ``PackLocalizationInputs``.
The tests run the current code (from the shipped configs) and the frozen copy on the same
seeded inputs and require equal tensors and dtypes: seeded initialisation, strict loading of
a saved pre-redesign state dict (single stream and merged fusion checkpoints), raw outputs,
loss terms and gradients, per-window detections and final predictions, and the packed
training / test samples of the synthetic and the real THUMOS14 annotation files.
"""
import copy
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from afsd_legacy_reference import (LegacyAFSD, LegacyAFSDNet, legacy_boundary_labels,
                                   legacy_contrastive_clip, legacy_load_data_list,
                                   legacy_pack_afsd)
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmloc.testing.synthetic_afsd import SyntheticAFSDConfig, generate_synthetic_afsd
from mmloc.registry import DATASETS, MODELS, TRANSFORMS
from mmloc.structures import LocalizationDataSample

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'localization' / 'afsd'
EXTRA_META = {'valid_length', 'time_grid'}
SAMPLE_FIELDS = ('start_labels', 'end_labels', 'ssl_inputs', 'ssl_segments')


def _cfg(name):
    return Config.fromfile(str(CONFIGS / name))


def _plain(cfg):
    return copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))


def _legacy_net_args(net_cfg: dict) -> dict:
    """Arguments of the frozen ``AFSDNet`` from a current net config (new keys dropped)."""
    keep = ('num_classes', 'clip_length', 'backbone', 'feature_channels', 'crop_size', 'width',
            'num_levels', 'gn_groups', 'freeze_bn')
    return {k: v for k, v in _plain(net_cfg).items() if k in keep}


def _legacy_model_args(model_cfg: dict) -> dict:
    m = _plain(model_cfg)
    out = {k: v for k, v in (m.get('loss') or {}).items() if k != 'type'}
    # top-level weights (the pre-AFSDLoss spelling) override the loss config
    out.update({k: m[k] for k in ('fusion_channels', 'lw', 'cw', 'piou', 'ssl', 'focal_alpha',
                                  'focal_gamma', 'normalize_frames', 'test_cfg') if k in m})
    if 'windows_per_batch' in out.get('test_cfg', {}):   # the frozen copy's name for it
        out['test_cfg'] = dict(out['test_cfg'])
        out['test_cfg']['batch_size'] = out['test_cfg'].pop('windows_per_batch')
    return out


def _assert_same_value(a, b, where):
    if isinstance(b, torch.Tensor):
        assert isinstance(a, torch.Tensor) and a.dtype == b.dtype, (where, a, b)
        assert a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype, (where, a, b)
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


def assert_same_packed(new: dict, old: dict, where=''):
    _assert_same_value(new['inputs'], old['inputs'], f'{where} inputs')
    ns, os_ = new['data_samples'], old['data_samples']
    assert set(ns.gt_instances.keys()) == set(os_.gt_instances.keys()), where
    for key in os_.gt_instances.keys():
        _assert_same_value(ns.gt_instances[key], os_.gt_instances[key], f'{where} gt.{key}')
    for name in SAMPLE_FIELDS:
        assert (name in ns) == (name in os_), (where, name)
        if name in os_:
            _assert_same_value(getattr(ns, name), getattr(os_, name), f'{where} {name}')
    extra = set(ns.metainfo) - set(os_.metainfo)
    assert extra <= EXTRA_META, (where, extra)
    for key, value in os_.metainfo.items():
        _assert_same_value(ns.metainfo[key], value, f'{where} meta {key}')


def _run(pipeline, results):
    for t in pipeline:
        results = t(results)
    return results


# --------------------------------------------------------------------------- models
def _demo_model_cfg(name='afsd_synthetic_demo.py'):
    return _plain(_cfg(name).model)


def _legacy_net(net_cfg, seed=0):
    torch.manual_seed(seed)
    return LegacyAFSDNet(**_legacy_net_args(net_cfg))


FEATURE_NET = dict(type='AFSDNet', num_classes=3, clip_length=32, backbone=None,
                   feature_channels=32, width=32, num_levels=4, gn_groups=8)


def test_seeded_init_and_saved_state_dict_load_strictly(tmp_path):
    for model_cfg in (_demo_model_cfg(), dict(type='AFSD', net=FEATURE_NET)):
        legacy = _legacy_net(model_cfg['net'])
        torch.manual_seed(0)
        fresh = MODELS.build(model_cfg)
        # a saved pre-redesign checkpoint (mmengine layout: the localizer's ``net.*``)
        path = tmp_path / 'legacy.pth'
        torch.save(dict(state_dict={'net.' + k: v for k, v in legacy.state_dict().items()},
                        meta=dict(epoch=1)), path)
        loaded = MODELS.build(model_cfg)
        loaded.load_state_dict(torch.load(path)['state_dict'], strict=True)
        new_sd, loaded_sd = fresh.state_dict(), loaded.state_dict()
        assert new_sd.keys() == loaded_sd.keys()
        assert len(new_sd) == len(legacy.state_dict())
        for key in new_sd:  # same seeded initialisation, mapped to the new names
            _assert_same_value(new_sd[key], loaded_sd[key], key)


def _loaded(model_cfg, legacy_nets):
    model = MODELS.build(model_cfg)
    state = {}
    for prefix, net in legacy_nets.items():
        state.update({f'{prefix}.{k}': v for k, v in net.state_dict().items()})
    model.load_state_dict(state, strict=True)
    return model


def test_raw_outputs_and_boundary_maps_bit_identical():
    model_cfg = _demo_model_cfg()
    legacy = _legacy_net(model_cfg['net']).eval()
    model = _loaded(model_cfg, dict(net=legacy)).eval()
    torch.manual_seed(3)
    x = torch.rand(2, 3, 32, 32, 32) * 2 - 1
    with torch.no_grad():
        ref, got = legacy(x), model(x, mode='tensor')
        assert got.keys() == ref.keys()
        for key in ref:
            _assert_same_value(got[key], ref[key], key)
        for a, b in zip(model.net.forward_boundary_maps(x), legacy.forward_boundary_maps(x)):
            _assert_same_value(a, b, 'boundary maps')


def _loss_batch(length=32):
    torch.manual_seed(0)
    x = torch.randint(0, 256, (2, 3, length, 32, 32), dtype=torch.uint8)
    x[0, :, 8:20] = 250
    samples = []
    for gts in ([[8, 20, 1]], [[4, 12, 2], [16, 28, 1]]):
        s = LocalizationDataSample()
        g = torch.tensor(gts, dtype=torch.float32)
        s.gt_instances = InstanceData(segments=g[:, :2] / length, labels=g[:, 2].long())
        start, end = torch.zeros(length), torch.zeros(length)
        for a, b, _ in gts:
            start[a - 1:a + 2] = 1
            end[b - 1:b + 2] = 1
        s.start_labels, s.end_labels = start, end
        samples.append(s)
    samples[0].ssl_inputs = x[0].clone()
    samples[0].ssl_segments = torch.tensor([[8., 12], [16, 20], [13, 15]])
    return list(x), samples


@pytest.mark.parametrize('override', [dict(), dict(piou=0.0, lw=2.0, ssl=0.3)])
def test_loss_terms_and_gradients_bit_identical(override):
    model_cfg = _demo_model_cfg()
    model_cfg.update(override)
    legacy_net = _legacy_net(model_cfg['net'])
    model = _loaded(model_cfg, dict(net=legacy_net))
    legacy = LegacyAFSD(legacy_net, **_legacy_model_args(model_cfg))
    assert all(getattr(legacy, k) == v for k, v in override.items())
    x, samples = _loss_batch()
    ref = legacy.loss(x, samples)
    got = model(x, samples, mode='loss')
    assert got.keys() == ref.keys()
    for key in ref:
        _assert_same_value(got[key], ref[key], key)
    sum(ref.values()).backward()
    sum(got.values()).backward()
    grads = dict(legacy_net.named_parameters())
    new_sd_keys = list(model.net.state_dict().keys())
    legacy_keys = list(legacy_net.state_dict().keys())
    to_new = dict(zip(legacy_keys, new_sd_keys))  # same order, mapped names
    params = dict(model.net.named_parameters())
    for name, p in grads.items():
        q = params[to_new[name]]
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            _assert_same_value(q.grad, p.grad, name)


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp('afsd_parity')
    generate_synthetic_afsd(str(root), num_train=3, num_test=3, seed=5,
                            cfg=SyntheticAFSDConfig(num_classes=2, min_frames=60, max_frames=90))
    return root


def _files(root, subset, prefix):
    a = root / 'thumos_annotations'
    return dict(ann_file=str(a / f'{subset}_Annotation_ours.csv'),
                video_info_file=str(a / f'{subset}_video_info.csv'),
                class_index_file=str(a / 'Class_Index_Detection.txt'),
                data_prefix=prefix)


def _predictions_case(model, legacy, video, meta, where):
    ref_windows = legacy.windows(video, meta)
    got_windows = model.collect_windows(video, meta)  # the sliding-window task module's
    assert len(got_windows) == len(ref_windows) > 1, where
    for w, (a, b) in enumerate(zip(got_windows, ref_windows)):
        for u, v in zip(a, b):
            _assert_same_value(u, v, f'{where} window {w}')
    segs, scores, labels = legacy.predict_video(video, meta)
    sample = LocalizationDataSample(metainfo=meta)
    (out, ) = model.predict([video], [sample])
    pred = out.pred_instances
    assert len(scores) > 0, where
    _assert_same_value(pred.segments, torch.from_numpy(segs).float(), where)
    _assert_same_value(pred.scores, torch.from_numpy(scores).float(), where)
    _assert_same_value(pred.labels, torch.from_numpy(labels - 1), where)


def test_predictions_frames_bit_identical(synth):
    cfg = _cfg('afsd_synthetic_demo.py')
    model_cfg = _plain(cfg.model)
    legacy_net = _legacy_net(model_cfg['net'], seed=1).eval()
    model = _loaded(model_cfg, dict(net=legacy_net)).eval()
    legacy = LegacyAFSD(legacy_net, **_legacy_model_args(model_cfg))
    ds_cfg = _plain(cfg.test_dataloader.dataset)
    ds_cfg.update(_files(synth, 'test', dict(frames=str(synth / 'frames/rgb'))))
    ds = DATASETS.build(ds_cfg)
    for i in range(len(ds)):
        item = ds[i]
        meta = dict(item['data_samples'].metainfo)
        _predictions_case(model, legacy, item['inputs'], meta, f'video {i}')
    # batch size 1 and a stride off the clip grid: other window chunks, same numbers
    for test_cfg in (dict(batch_size=1), dict(clip_stride=11, batch_size=3)):
        # the frozen copy's batch_size is our windows_per_batch
        model.test_cfg.update(model._renamed_test_cfg(test_cfg))
        legacy.test_cfg.update(test_cfg)
        _predictions_case(model, legacy, item['inputs'], meta, str(test_cfg))


def test_predictions_features_bit_identical(synth):
    model_cfg = dict(type='AFSD', net=FEATURE_NET, test_cfg=dict(clip_stride=12, batch_size=2))
    legacy_net = _legacy_net(FEATURE_NET, seed=2).eval()
    model = _loaded(model_cfg, dict(net=legacy_net)).eval()
    legacy = LegacyAFSD(legacy_net, **{k: v for k, v in _legacy_model_args(model_cfg).items()
                                        if k == 'test_cfg'})
    feats = np.load(synth / 'features' / 'video_test_0000000.npy')
    video = torch.from_numpy(np.ascontiguousarray(feats.T))
    _predictions_case(model, legacy, video, dict(video_name='v', sample_fps=10.0,
                                                 feature_stride=4), 'features')


def test_fusion_predictions_and_legacy_checkpoint_merge(synth, tmp_path):
    from mmloc.apis.afsd_fusion import merge_fusion_checkpoint_files
    cfg_path = str(CONFIGS / 'afsd_synthetic_fusion.py')
    cfg = _cfg('afsd_synthetic_fusion.py')
    model_cfg = _plain(cfg.model)
    nets = dict(net=_legacy_net(model_cfg['net'], seed=3).eval(),
                fusion_net=_legacy_net(model_cfg['fusion_net'], seed=4).eval())
    # two pre-redesign single-stream checkpoints (net.* in the old layout), merged strictly
    paths = {}
    for name, net in nets.items():
        paths[name] = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict={'net.' + k: v for k, v in net.state_dict().items()},
                        meta=dict(epoch=1)), paths[name])
    out = str(tmp_path / 'fused.pth')
    ckpt = merge_fusion_checkpoint_files(paths['net'], paths['fusion_net'], out, config=cfg_path)
    model = MODELS.build(model_cfg)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    model.eval()
    assert torch.equal(_loaded(model_cfg, nets).state_dict()['net.neck.level0.weight'],
                       model.state_dict()['net.neck.level0.weight'])
    legacy = LegacyAFSD(nets['net'], fusion_net=nets['fusion_net'],
                        **_legacy_model_args(model_cfg))
    ds_cfg = _plain(cfg.test_dataloader.dataset)
    ds_cfg.update(_files(synth, 'test', dict(rgb=str(synth / 'frames/rgb'),
                                             flow=str(synth / 'frames/flow'))))
    ds = DATASETS.build(ds_cfg)
    item = ds[0]
    _predictions_case(model, legacy, item['inputs'], dict(item['data_samples'].metainfo),
                      'fusion')


# --------------------------------------------------------------------------- data
def _legacy_pipeline(cfg_pipeline):
    """The current config pipeline with the redesigned transforms swapped for their frozen
    copies (loading, crop and flip are unchanged and built from the config)."""
    frozen = dict(AFSDBoundaryLabels=legacy_boundary_labels,
                  AFSDContrastiveClip=legacy_contrastive_clip)
    out = []
    for entry in cfg_pipeline:
        kind = entry['type']
        if kind in frozen:
            out.append(frozen[kind])
        elif kind in ('PackAFSDInputs', 'PackLocalizationInputs'):
            out.append(legacy_pack_afsd)
        else:
            out.append(TRANSFORMS.build(entry))
    return out


@pytest.mark.parametrize('config,split,prefix', [
    ('afsd_synthetic_demo.py', 'train', 'frames/rgb'),
    ('afsd_synthetic_demo.py', 'test', 'frames/rgb'),
    ('afsd_feature_thumos14.py', 'train', 'features'),
    ('afsd_feature_thumos14.py', 'test', 'features'),
])
def test_packed_samples_bit_identical(synth, config, split, prefix):
    cfg = _cfg(config)
    loader = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    ds_cfg = _plain(loader.dataset)
    ds_cfg.update(_files(synth, 'val' if split == 'train' else 'test',
                         dict(frames=str(synth / prefix))),
                  clip_length=32, clip_stride=8 if prefix == 'features' else ds_cfg.get(
                      'clip_stride', 30))
    ds = DATASETS.build(ds_cfg)
    legacy_infos = legacy_load_data_list(ds)
    legacy_pipeline = _legacy_pipeline(ds_cfg['pipeline'])
    assert len(ds) == len(legacy_infos) > 0
    for epoch in range(2 if split == 'train' else 1):
        for i in range(len(ds)):
            np.random.seed(100 * epoch + i)
            got = ds[i]
            np.random.seed(100 * epoch + i)
            ref = _run(legacy_pipeline, dict(legacy_infos[i], sample_idx=i))
            assert_same_packed(got, ref, f'{config} {split} item {i}')
    if split == 'train' and prefix == 'frames/rgb':
        assert any('ssl_inputs' in ds[i]['data_samples'] for i in range(len(ds)))


class DummyFeatures:
    """Stands in for ``LoadAFSDFrames`` where the frame arrays are not available."""

    def __call__(self, results):
        steps = results['clip_length'] // results['feature_stride'] if 'offset' in results \
            else results['sample_count'] // results['feature_stride']
        results['imgs'] = np.zeros((steps, 2), np.float32)
        results['input_type'] = 'features'
        return results


@pytest.mark.parametrize('split', ['train', 'test'])
def test_real_thumos14_annotations_packed_bit_identical(shared_data, split):
    d = shared_data / 'thumos14' / 'afsd'
    if not d.is_dir():
        pytest.skip(f'{d} not found')
    cfg = _cfg('afsd_feature_thumos14.py')
    loader = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    ds_cfg = _plain(loader.dataset)
    subset = 'val' if split == 'train' else 'test'
    ds_cfg.update(ann_file=str(d / f'{subset}_Annotation_ours.csv'),
                  video_info_file=str(d / f'{subset}_video_info.csv'),
                  class_index_file=str(d / 'Class_Index_Detection.txt'),
                  data_prefix=dict(frames='/nonexistent'), feature_stride=1, clip_stride=30)
    pipeline = ds_cfg['pipeline']
    assert pipeline[0]['type'] == 'LoadAFSDFrames'
    ds_cfg['pipeline'] = [DummyFeatures()] + pipeline[1:]
    ds = DATASETS.build(ds_cfg)
    legacy_infos = legacy_load_data_list(ds)
    legacy_pipeline = [DummyFeatures()] + _legacy_pipeline(pipeline[1:])
    assert len(ds) == len(legacy_infos) == (7842 if split == 'train' else 212)
    for i in range(0, len(ds), 7 if split == 'train' else 1):
        ref = _run(legacy_pipeline, dict(legacy_infos[i], sample_idx=i))
        assert_same_packed(ds[i], ref, f'{split} item {i}')
    assert osp.isdir(str(d))
