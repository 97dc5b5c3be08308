"""Checkpoints of the official AFSD release (``checkpoint-<epoch>.ckpt`` from its ``train.py``):
the key map, strict loading through tools/test.py's path, the converter tool and the fusion
merger in both key orders (issue #18, items 5 and 6).

The original-layout state dicts are built here (``original_afsd_layout.py``) from the
original's module tree, with random tensors: nothing is downloaded."""
import argparse
import json
import os.path as osp
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from original_afsd_layout import original_bdnet_state_dict
from mmloc.apis.afsd_convert import convert_original_checkpoint_file, read_original_checkpoint
from mmloc.apis.afsd_fusion import build_model_without_pretrained
from mmloc.models.afsd import AFSDNet
from mmloc.models.afsd.fusion import (input_layer_keys, merge_fusion_checkpoints,
                                      merge_fusion_state_dicts)
from mmloc.models.afsd.original_checkpoint import original_afsd_key
from mmloc.registry import MODELS
from mmloc.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RGB_CFG = osp.join(REPO, 'configs/localization/afsd/afsd_i3d_thumos14_rgb.py')
FUSION_CFG = osp.join(REPO, 'configs/localization/afsd/afsd_i3d_thumos14_fusion.py')
WIDTH = 64  # the real I3D with a narrow head: the same names, a tenth of the tensors

# Hand-written pairs (original -> mmloc), the error-prone ones first: the proposal branch's
# roi_conv / proposal_conv swap, the flattened deconv, the level-0/1 Unit3D convs.
PAIRS = {
    'coarse_pyramid_detection.loc_proposal_branch.roi_conv.0.conv1d.weight':
        'net.head.loc_proposal_branch.boundary_conv.conv.conv1d.weight',
    'coarse_pyramid_detection.loc_proposal_branch.roi_conv.1.weight':
        'net.head.loc_proposal_branch.boundary_conv.gn.weight',
    'coarse_pyramid_detection.conf_proposal_branch.proposal_conv.0.conv1d.bias':
        'net.head.conf_proposal_branch.roi_conv.conv.conv1d.bias',
    'coarse_pyramid_detection.conf_proposal_branch.proposal_conv.1.bias':
        'net.head.conf_proposal_branch.roi_conv.gn.bias',
    'coarse_pyramid_detection.loc_proposal_branch.lr_conv.1.weight':
        'net.head.loc_proposal_branch.lr_conv.gn.weight',
    'coarse_pyramid_detection.deconv.0.conv1d.weight': 'net.head.frame_layers.0.conv.conv1d.weight',
    'coarse_pyramid_detection.deconv.4.bias': 'net.head.frame_layers.1.gn.bias',
    'coarse_pyramid_detection.deconv.6.conv1d.weight': 'net.head.frame_layers.2.conv.conv1d.weight',
    'coarse_pyramid_detection.pyramids.0.0.conv3d.weight': 'net.neck.level0.weight',
    'coarse_pyramid_detection.pyramids.1.1.bias': 'net.neck.level1_gn.bias',
    'coarse_pyramid_detection.pyramids.2.0.conv1d.weight': 'net.neck.down.0.conv.conv1d.weight',
    'coarse_pyramid_detection.pyramids.5.1.weight': 'net.neck.down.3.gn.weight',
    'coarse_pyramid_detection.loc_heads.3.scale': 'net.head.scales.3.scale',
    'coarse_pyramid_detection.conf_tower.1.1.weight': 'net.head.conf_tower.1.gn.weight',
    'coarse_pyramid_detection.center_head.conv1d.weight': 'net.head.center_head.conv1d.weight',
    'backbone._model.Conv3d_1a_7x7.conv3d.weight': 'net.backbone.Conv3d_1a_7x7.conv3d.weight',
    'backbone._model.Mixed_5c.b3b.bn.running_var': 'net.backbone.Mixed_5c.b3b.bn.running_var',
}


@pytest.fixture(scope='module', autouse=True)
def _registered():
    register_all_modules()


def _narrow(cfg_path, fusion=False):
    cfg = Config.fromfile(cfg_path).model
    for name in ('net', 'fusion_net') if fusion else ('net', ):
        cfg[name].width = WIDTH
        cfg[name].backbone.pretrained = None
    return MODELS.build(cfg)


def _source_of(model_state, original):
    """model key -> the original key holding the same (unique random) tensor."""
    by_bytes = {v.numpy().tobytes() + str(tuple(v.shape)).encode(): k for k, v in original.items()}
    return {k: by_bytes.get(v.numpy().tobytes() + str(tuple(v.shape)).encode())
            for k, v in model_state.items()}


def test_full_size_checkpoint_loads_strictly_through_mmengine(tmp_path):
    """tools/test.py loads with mmengine's ``load_checkpoint(..., strict=True)`` machinery;
    the 442 tensors of a full-size original file land where the original used them."""
    original = original_bdnet_state_dict(in_channels=3, num_classes=21, width=512)
    assert len(original) == 442
    path = tmp_path / 'checkpoint-15.ckpt'
    torch.save(original, path)          # as train.py: a bare state dict, no 'state_dict' key
    model = build_model_without_pretrained(RGB_CFG)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    source = _source_of(model.state_dict(), original)
    assert None not in source.values() and sorted(source.values()) == sorted(original)
    for orig_key, ours in PAIRS.items():
        assert source[ours] == orig_key, ours
    # the key map itself: every original key has a name, and they are the model's
    assert {'net.' + original_afsd_key(k) for k in original} == set(model.state_dict())


def test_bare_afsdnet_and_dataparallel_prefix(tmp_path):
    original = original_bdnet_state_dict(width=WIDTH, seed=1)
    net_cfg = Config.fromfile(RGB_CFG).model.net
    net_cfg.width, net_cfg.backbone.pretrained = WIDTH, None
    net = MODELS.build(net_cfg)
    assert isinstance(net, AFSDNet)
    net.load_state_dict(original, strict=True)    # AFSDNet's own hook, at prefix ''
    assert torch.equal(net.head.conf_proposal_branch.boundary_conv.conv.conv1d.weight,
                       original['coarse_pyramid_detection.conf_proposal_branch.roi_conv.0.'
                            'conv1d.weight'])
    # a DataParallel-wrapped save (module.*) loads through mmengine's prefix stripping
    path = tmp_path / 'dp.ckpt'
    torch.save(OrderedDict(('module.' + k, v) for k, v in original.items()), path)
    model = _narrow(RGB_CFG)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    assert torch.equal(model.net.backbone.Mixed_4f.b1b.conv3d.weight,
                       original['backbone._model.Mixed_4f.b1b.conv3d.weight'])


def test_unknown_original_key_is_reported_not_dropped(tmp_path):
    original = original_bdnet_state_dict(width=WIDTH, seed=2)
    original['coarse_pyramid_detection.extra_head.weight'] = torch.zeros(3)
    model = _narrow(RGB_CFG)
    with pytest.raises(RuntimeError, match=r'Unexpected key.*coarse_pyramid_detection\.extra_head'):
        model.load_state_dict(original, strict=True)
    path = tmp_path / 'extra.ckpt'
    torch.save(original, path)
    with pytest.raises(ValueError, match=r'extra\.ckpt: 1 tensors of the original BDNet have no '
                                         r'mmloc name.*extra_head'):
        read_original_checkpoint(str(path))


TEST_CONFIG = """
_base_ = ['{base}']
model = dict(net=dict(width={width}, backbone=dict(pretrained=None)))
_a = '{data}/thumos_annotations'
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(
    video_info_file=_a + '/test_video_info.csv', ann_file=_a + '/test_Annotation_ours.csv',
    class_index_file=_a + '/Class_Index_Detection.txt', data_prefix=dict(frames='{data}/frames')))
val_dataloader = test_dataloader
"""


def _thumos_like_data(root):
    """One 40-frame 112x112 test video, 20 classes, AFSD's file formats."""
    ann = root / 'thumos_annotations'
    ann.mkdir(parents=True)
    (root / 'frames').mkdir()
    names = [f'Class{j:02d}' for j in range(20)]
    (ann / 'Class_Index_Detection.txt').write_text(
        ''.join(f'{j + 7} {n}\n' for j, n in enumerate(names)))
    (ann / 'test_video_info.csv').write_text(
        'video,fps,sample_fps,count,sample_count\nvideo_test_0000001,30.0,10.0,120.0,40\n')
    (ann / 'test_Annotation_ours.csv').write_text(
        'video,type,type_idx,start,end,startFrame,endFrame\n'
        'video_test_0000001,Class03,10,1.0,2.5,30,75\n')
    frames = np.random.default_rng(0).integers(0, 256, (40, 112, 112, 3), dtype=np.uint8)
    np.save(root / 'frames' / 'video_test_0000001.npy', frames)


def _run_tool(script, argv, monkeypatch):
    import importlib.util
    from mmloc.utils.cli import run_tool
    path = osp.join(REPO, 'tools', script)
    spec = importlib.util.spec_from_file_location('tool_' + osp.basename(script)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(sys, 'argv', [script] + argv)
    run_tool(mod.main)


def test_tools_test_py_runs_an_original_checkpoint(tmp_path, monkeypatch, capsys):
    """tools/test.py's run_test on a train.py-style file (one I3D window, ~8 s on one core),
    and the converter's file holds the same tensors under the same names as the loaded model."""
    from mmloc.apis import build_test_config, run_test
    _thumos_like_data(tmp_path / 'data')
    config = tmp_path / 'test_cfg.py'
    config.write_text(TEST_CONFIG.format(base=RGB_CFG, width=WIDTH, data=tmp_path / 'data'))
    original = tmp_path / 'checkpoint-15.ckpt'
    state = original_bdnet_state_dict(width=WIDTH, seed=3)
    torch.save(state, original)
    out = tmp_path / 'results.json'
    args = argparse.Namespace(config=str(config), checkpoint=str(original),
                              work_dir=str(tmp_path / 'work'), eval=['mAP'], out=str(out),
                              dump=None, unsafe_load=False, cfg_options=None, launcher='none')
    metrics = run_test(build_test_config(args))      # raises on any missing/unexpected key
    assert any(k.endswith('mAP@0.50') for k in metrics), metrics
    assert sum(len(v) for v in json.loads(out.read_text())['results'].values()) > 0

    converted = tmp_path / 'converted.pth'
    capsys.readouterr()
    _run_tool('misc/convert_afsd_checkpoint.py',
              [str(original), '--out', str(converted), '--config', str(config)], monkeypatch)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['tensors'] == 442 and summary['converted_from'] == str(original)
    written = torch.load(converted, weights_only=True)['state_dict']
    model = _narrow(RGB_CFG)
    model.load_state_dict(state, strict=True)           # the localizer's own load hook
    expected = model.state_dict()
    assert list(written) == list(expected)              # mmloc's key order
    assert all(torch.equal(written[k], v) for k, v in expected.items())


def test_converter_refuses_other_files(tmp_path):
    mmloc_ckpt = tmp_path / 'epoch_12.pth'
    torch.save(dict(state_dict={'net.neck.level0.weight': torch.zeros(2)}), mmloc_ckpt)
    with pytest.raises(ValueError, match=r'epoch_12\.pth: not a checkpoint of the original AFSD '
                                         r'release.*needs no conversion'):
        convert_original_checkpoint_file(str(mmloc_ckpt), str(tmp_path / 'o.pth'))
    # a narrow-head file against the default full-size config: the mismatch is named
    original = tmp_path / 'checkpoint-3.ckpt'
    torch.save(original_bdnet_state_dict(width=WIDTH, seed=4), original)
    with pytest.raises(ValueError, match=r'checkpoint-3\.ckpt: the converted checkpoint does not '
                                         r'fit the model of .*afsd_i3d_thumos14_rgb\.py.*'
                                         r'net\.neck\.level0\.weight is \(64, 832, 1, 6, 6\)'):
        convert_original_checkpoint_file(str(original), str(tmp_path / 'o.pth'))
    assert not (tmp_path / 'o.pth').exists()


def _mmloc_order(state):
    """An original state dict converted to ``net.*`` and put in mmloc's module order."""
    model = _narrow(RGB_CFG)
    own = list(model.state_dict())
    converted = {'net.' + original_afsd_key(k): v for k, v in state.items()}
    return OrderedDict((k, converted[k]) for k in own)


@pytest.mark.parametrize('orders', [('original', 'original'), ('mmloc', 'mmloc'),
                                    ('original', 'mmloc'), ('reversed', 'original')])
def test_merger_takes_original_files_in_any_key_order(tmp_path, orders):
    rgb = original_bdnet_state_dict(in_channels=3, width=WIDTH, seed=5)
    flow = original_bdnet_state_dict(in_channels=2, width=WIDTH, seed=6)
    paths = {}
    for name, state, order in (('rgb', rgb, orders[0]), ('flow', flow, orders[1])):
        if order == 'mmloc':
            obj = dict(state_dict=_mmloc_order(state))
        elif order == 'reversed':
            obj = OrderedDict(reversed(list(state.items())))
        else:
            obj = state
        paths[name] = tmp_path / f'{name}.ckpt'
        torch.save(obj, paths[name])
    model = _narrow(FUSION_CFG, fusion=True)
    ckpt = merge_fusion_checkpoints(str(paths['rgb']), str(paths['flow']), model)
    assert len(ckpt['state_dict']) == 2 * 442
    w = 'head.loc_proposal_branch.boundary_conv.conv.conv1d.weight'
    key = 'coarse_pyramid_detection.loc_proposal_branch.roi_conv.0.conv1d.weight'
    assert torch.equal(model.net.get_parameter(w), rgb[key])
    assert torch.equal(model.fusion_net.get_parameter(w), flow[key])
    assert model.fusion_net.backbone.Conv3d_1a_7x7.conv3d.weight.shape[1] == 2


def test_merge_state_dicts_finds_the_input_layer_by_name():
    """The same tensors in mmloc's key order and in the original's (backbone last) merge alike;
    only the named input layer may differ in its input channels."""
    rgb = _mmloc_order(original_bdnet_state_dict(in_channels=3, width=WIDTH, seed=7))
    flow = _mmloc_order(original_bdnet_state_dict(in_channels=2, width=WIDTH, seed=8))
    assert input_layer_keys(rgb) == ['net.backbone.Conv3d_1a_7x7.conv3d.weight']
    ours = merge_fusion_state_dicts(rgb, flow)
    head_first = OrderedDict(sorted(rgb.items(), key=lambda kv: 'backbone' in kv[0]))
    assert next(iter(head_first)).startswith('net.neck.')          # the original's order
    theirs = merge_fusion_state_dicts(head_first, flow)
    assert set(ours) == set(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    # any other tensor of another shape is still refused, naming the input layer
    bad = OrderedDict(flow)
    bad['net.neck.level0.weight'] = torch.zeros(WIDTH, 10, 1, 6, 6)
    with pytest.raises(ValueError, match=r'net\.neck\.level0\.weight is .*only the input '
                                         r'channels of net\.backbone\.Conv3d_1a_7x7'):
        merge_fusion_state_dicts(head_first, bad)


def test_fine_tuning_from_an_original_file_passes_the_load_from_check(tmp_path):
    """``tools/train.py`` refuses a checkpoint of another model before training; an original
    release file fits once the model's key map has renamed it (also for --resume)."""
    from mmloc.apis.train_test import check_checkpoint_fits
    model = _narrow(RGB_CFG)
    path = tmp_path / 'checkpoint-15.ckpt'
    torch.save(original_bdnet_state_dict(in_channels=3, num_classes=21, width=WIDTH), path)
    check_checkpoint_fits(model, str(path), resume=False)
    check_checkpoint_fits(model, str(path), resume=True)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(3, 3)}}, other)
    with pytest.raises(ValueError, match='does not fit the model'):
        check_checkpoint_fits(model, str(other), resume=False)
    wide = tmp_path / 'wide.ckpt'        # same names, other shapes: refused for --resume
    torch.save(original_bdnet_state_dict(in_channels=3, num_classes=21, width=2 * WIDTH), wide)
    with pytest.raises(ValueError, match='does not fit the model'):
        check_checkpoint_fits(model, str(wide), resume=True)
