"""RGB + flow fusion (spec §5.3): two-modality loading, the checkpoint merger, the fused
model's raw outputs, and tools/test.py's path end to end on synthetic clips."""
import argparse
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmloc.testing.synthetic_afsd import SyntheticAFSDConfig, generate_synthetic_afsd
from mmloc.datasets.thumos_afsd_dataset import ThumosAFSDDataset
from mmloc.apis.afsd_fusion import build_fusion_model, merge_fusion_checkpoint_files
from mmloc.engine.checkpoint import safe_torch_load
from mmloc.models.afsd.fusion import merge_fusion_checkpoints
from mmloc.models.afsd.inference import RAW_KEYS
from mmloc.registry import MODELS
from mmloc.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FUSION_CFG = osp.join(REPO, 'configs/localization/afsd/afsd_synthetic_fusion.py')
RGB_CFG = osp.join(REPO, 'configs/localization/afsd/afsd_synthetic_demo.py')
FLOW_CFG = osp.join(REPO, 'configs/localization/afsd/afsd_synthetic_demo_flow.py')

# the synthetic fusion config on the test's own data folder
TEST_CONFIG = """
_base_ = ['{base}']
_a = '{data}/thumos_annotations'
test_dataloader = dict(dataset=dict(
    video_info_file=_a + '/test_video_info.csv', ann_file=_a + '/test_Annotation_ours.csv',
    class_index_file=_a + '/Class_Index_Detection.txt',
    data_prefix=dict(_delete_=True, rgb='{data}/frames/rgb', flow='{data}/frames/flow')))
val_dataloader = test_dataloader
"""


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    register_all_modules()
    root = tmp_path_factory.mktemp('afsd_fusion')
    data = root / 'data'
    generate_synthetic_afsd(str(data), num_train=1, num_test=2, seed=4,
                            cfg=SyntheticAFSDConfig(num_classes=2, min_frames=40, max_frames=56))
    paths = {}
    models = {}
    for name, cfg_path, seed in (('rgb', RGB_CFG, 1), ('flow', FLOW_CFG, 2)):
        torch.manual_seed(seed)
        model = MODELS.build(Config.fromfile(cfg_path).model).eval()
        # random but not degenerate: shift the heads so the two streams clearly differ
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
        models[name] = model
        paths[name] = str(root / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(),
                        meta=dict(epoch=seed + 10,
                                  dataset_meta=dict(classes=('SynthJump', 'SynthThrow')))),
                   paths[name])
    config = root / 'fusion_test.py'
    config.write_text(TEST_CONFIG.format(base=FUSION_CFG, data=data))
    return dict(root=root, data=data, paths=paths, models=models, config=str(config))


def _dataset(data, **kw):
    a = data / 'thumos_annotations'
    return ThumosAFSDDataset(ann_file=str(a / 'test_Annotation_ours.csv'),
                             video_info_file=str(a / 'test_video_info.csv'),
                             class_index_file=str(a / 'Class_Index_Detection.txt'),
                             clip_length=32, test_mode=True, **kw)


def test_load_rgb_and_flow_concatenated(setup):
    data = setup['data']
    fused = _dataset(data, modalities=('rgb', 'flow'),
                     data_prefix=dict(rgb=str(data / 'frames/rgb'), flow=str(data / 'frames/flow')),
                     pipeline=[dict(type='LoadAFSDFrames', modalities=('rgb', 'flow'))])
    item = fused[1]
    rgb = np.load(data / 'frames/rgb' / (item['video_name'] + '.npy'))
    flow = np.load(data / 'frames/flow' / (item['video_name'] + '.npy'))
    assert item['imgs'].shape == rgb.shape[:3] + (5,) and item['imgs'].dtype == np.uint8
    np.testing.assert_array_equal(item['imgs'][..., :3], rgb)
    np.testing.assert_array_equal(item['imgs'][..., 3:], flow)
    # a training window: the same [offset, offset + L) of both, zero-padded past the end
    from mmloc.datasets.transforms.afsd_transforms import LoadAFSDFrames
    t = len(rgb)
    win = LoadAFSDFrames(modalities=('rgb', 'flow'))(dict(
        fused.get_data_info(1), offset=t - 10, clip_length=32))['imgs']
    assert win.shape == (32,) + rgb.shape[1:3] + (5,)
    np.testing.assert_array_equal(win[:10, ..., :3], rgb[t - 10:])
    np.testing.assert_array_equal(win[:10, ..., 3:], flow[t - 10:])
    assert not win[10:].any()


def test_load_errors_name_the_files(setup, tmp_path):
    data = setup['data']
    with pytest.raises(ValueError, match=r"missing \['flow'\]"):
        _dataset(data, modalities=('rgb', 'flow'), data_prefix=dict(rgb=str(data)), pipeline=[])
    # a flow array one frame short of the RGB one
    short = tmp_path / 'flow'
    short.mkdir()
    ds = _dataset(data, modalities=('rgb', 'flow'),
                  data_prefix=dict(rgb=str(data / 'frames/rgb'), flow=str(short)),
                  pipeline=[dict(type='LoadAFSDFrames', modalities=('rgb', 'flow'))])
    vid = ds.get_data_info(0)['video_name']
    flow = np.load(data / 'frames/flow' / f'{vid}.npy')
    np.save(short / f'{vid}.npy', flow[:-1])
    with pytest.raises(ValueError, match=rf'{vid}: .*flow/{vid}\.npy has shape'):
        ds[0]
    with pytest.raises(KeyError, match="no path for \\['flow'\\]"):
        from mmloc.datasets.transforms.afsd_transforms import LoadAFSDFrames
        info = ds.get_data_info(0)
        LoadAFSDFrames(modalities=('rgb', 'flow'))(
            dict(info, frame_paths=dict(rgb=info['frame_paths']['rgb'])))


def test_merge_loads_strictly_and_keeps_every_tensor(setup, tmp_path):
    paths, models = setup['paths'], setup['models']
    out = tmp_path / 'fusion.pth'
    merge_fusion_checkpoint_files(paths['rgb'], paths['flow'], str(out), config=FUSION_CFG)
    ckpt = safe_torch_load(str(out))
    assert ckpt['meta']['fusion']['rgb_epoch'] == 11 and ckpt['meta']['fusion']['flow_epoch'] == 12
    assert ckpt['meta']['dataset_meta']['classes'] == ('SynthJump', 'SynthThrow')
    fused = build_fusion_model(FUSION_CFG)
    fused.load_state_dict(ckpt['state_dict'], strict=True)
    rgb_sd, flow_sd = models['rgb'].state_dict(), models['flow'].state_dict()
    assert len(ckpt['state_dict']) == len(rgb_sd) + len(flow_sd)
    for key, value in fused.state_dict().items():
        stream, sub = key.split('.', 1)
        source = rgb_sd if stream == 'net' else flow_sd
        assert torch.equal(value, source['net.' + sub]), key
    assert fused.net.backbone.stem[0].conv3d.weight.shape[1] == 3
    assert fused.fusion_net.backbone.stem[0].conv3d.weight.shape[1] == 2


def test_merge_errors_name_the_file(setup, tmp_path):
    paths, model = setup['paths'], build_fusion_model(FUSION_CFG)
    # swapped files: the network of each file fits the other's input channels
    with pytest.raises(ValueError, match=r'flow\.pth: net\.backbone\.stem\.0\.conv3d\.weight is '
                                         r'\(16, 2, 3, 3, 3\).*swapped'):
        merge_fusion_checkpoints(paths['flow'], paths['rgb'], model)
    # a tensor missing from the flow file
    sd = safe_torch_load(paths['flow'])['state_dict']
    del sd['net.cls_head.weight' if 'net.cls_head.weight' in sd else list(sd)[-1]]
    broken = tmp_path / 'broken_flow.pth'
    torch.save(dict(state_dict=sd), broken)
    with pytest.raises(ValueError, match=r'keys only in .*rgb\.pth.*broken_flow\.pth'):
        merge_fusion_checkpoints(paths['rgb'], str(broken), model)
    # an already fused file given as a stream
    fused = tmp_path / 'fused.pth'
    merge_fusion_checkpoint_files(paths['rgb'], paths['flow'], str(fused))
    with pytest.raises(ValueError, match=r'fused\.pth: flow checkpoint already holds a fused'):
        merge_fusion_checkpoints(paths['rgb'], str(fused))
    # streams trained on other class lists
    other = tmp_path / 'other_classes.pth'
    torch.save(dict(state_dict=safe_torch_load(paths['flow'])['state_dict'],
                    meta=dict(dataset_meta=dict(classes=('A', 'B')))), other)
    with pytest.raises(ValueError, match=r'other_classes\.pth on \(.A., .B.\)'):
        merge_fusion_checkpoints(paths['rgb'], str(other))
    # the result must fit the config's model: a 3-class RGB net vs a model of 4 classes
    cfg = Config.fromfile(FUSION_CFG).model
    cfg.net.num_classes = cfg.fusion_net.num_classes = 4
    with pytest.raises(ValueError, match=r'rgb\.pth: net\..*the model needs'):
        merge_fusion_checkpoints(paths['rgb'], paths['flow'], MODELS.build(cfg))


def test_fused_raw_outputs_are_the_mean_of_the_two_streams(setup, tmp_path):
    paths, models = setup['paths'], setup['models']
    out = tmp_path / 'fusion.pth'
    fused = build_fusion_model(FUSION_CFG).eval()
    fused.load_state_dict(merge_fusion_checkpoint_files(
        paths['rgb'], paths['flow'], str(out))['state_dict'], strict=True)
    data = setup['data']
    ds = _dataset(data, modalities=('rgb', 'flow'),
                  data_prefix=dict(rgb=str(data / 'frames/rgb'), flow=str(data / 'frames/flow')),
                  pipeline=[dict(type='LoadAFSDFrames', modalities=('rgb', 'flow')),
                            dict(type='AFSDCenterCrop', size=32), dict(type='PackAFSDInputs')])
    window = ds[0]['inputs'][:, :32]        # (5, 32, 32, 32) uint8, one window of the video
    x = window.unsqueeze(0)
    with torch.no_grad():
        got = fused(x, mode='tensor')
        rgb = models['rgb'](x[:, :3], mode='tensor')
        flow = models['flow'](x[:, 3:], mode='tensor')
    for key in RAW_KEYS:
        np.testing.assert_allclose(got[key].numpy(), 0.5 * (rgb[key] + flow[key]).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
        # the streams differ, so the mean is neither of them
        assert not torch.allclose(rgb[key], flow[key], atol=1e-4), key


def test_merge_tool_then_test_py_with_map(setup):
    root, paths = setup['root'], setup['paths']
    fusion_pth, results = root / 'cli_fusion.pth', root / 'fusion.json'
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/misc/merge_afsd_fusion_checkpoint.py'),
         paths['rgb'], paths['flow'], '--out', str(fusion_pth), '--config', FUSION_CFG],
        capture_output=True, text=True, cwd=str(root))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary['tensors'] == 2 * len(setup['models']['rgb'].state_dict())

    from mmloc.apis import build_test_config, run_test
    args = argparse.Namespace(config=setup['config'], checkpoint=str(fusion_pth),
                              work_dir=str(root / 'work'), eval=['mAP'], out=str(results),
                              dump=None, unsafe_load=False, cfg_options=None, launcher='none')
    metrics = run_test(build_test_config(args))
    thresholds = ('0.30', '0.40', '0.50', '0.60', '0.70')
    for t in thresholds:
        key = [k for k in metrics if k.endswith(f'mAP@{t}')]
        assert len(key) == 1 and 0.0 <= metrics[key[0]] <= 1.0, metrics
    out = json.loads(results.read_text())
    ds = _dataset(setup['data'], pipeline=[], data_prefix=dict(frames=''))
    videos = {ds.get_data_info(i)['video_name']: ds.get_data_info(i) for i in range(len(ds))}
    assert set(out['results']) <= set(videos)
    assert sum(len(v) for v in out['results'].values()) > 0
    for vid, items in out['results'].items():
        duration = videos[vid]['sample_count'] / 10.0
        for it in items:
            assert it['label'] in ('SynthJump', 'SynthThrow')
            assert 0 <= it['segment'][0] <= it['segment'][1] <= duration + 1e-6
            assert 0 < it['score'] <= 1


def test_fused_model_refuses_training():
    from mmloc.models.localizers.afsd import AFSD
    model = AFSD.__new__(AFSD)  # only the guard is exercised: no network needed
    torch.nn.Module.__init__(model)
    model.fusion_net = torch.nn.Identity()
    with pytest.raises(ValueError, match='test-only.*merge_afsd_fusion_checkpoint'):
        model.loss(torch.zeros(1), [])
