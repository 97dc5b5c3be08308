"""End to end: synthetic data -> tools/train.py -> tools/test.py --eval AR@AN --out -> eval_metric."""
import argparse
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmloc.apis import build_test_config, build_train_config, run_test, run_train
from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
from mmloc.engine.checkpoint import safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
T, C = 16, 16

CONFIG = """
_base_ = ['{repo}/configs/_base_/models/bmn_400x100.py',
          '{repo}/configs/_base_/datasets/activitynet_feature.py',
          '{repo}/configs/_base_/schedules/adam_9e.py',
          '{repo}/configs/_base_/default_runtime.py']
model = dict(temporal_dim={T}, feat_dim={C}, hidden_dim_1d=16, hidden_dim_2d=16,
             hidden_dim_3d=16, num_samples=4, num_samples_per_bin=2, post_process_top_k=20)
_load = dict(type='LoadLocalizationFeature', temporal_dim={T}, feat_dim={C})
_meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
_ds = dict(data_prefix=dict(video='{data}/features'))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='{data}/anet_anno_train.json', **_ds,
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments',))]))
val_dataloader = dict(batch_size=3, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='{data}/anet_anno_val.json', **_ds,
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments',), meta_keys=_meta)]))
test_dataloader = dict(batch_size=3, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='{data}/anet_anno_val.json', **_ds,
                 pipeline=[_load, dict(type='PackLocalizationInputs', meta_keys=_meta)]))
train_cfg = dict(max_epochs=2, val_begin=2, val_interval=1)
param_scheduler = [dict(type='MultiStepLR', begin=0, end=2, by_epoch=True, milestones=[1])]
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
"""


def _train_args(config, work_dir, **kw):
    args = dict(config=config, work_dir=work_dir, resume=None, amp=False, no_validate=False,
                auto_scale_lr=False, seed=None, diff_rank_seed=False, deterministic=False,
                unsafe_load=False, cfg_options=None, launcher='none')
    args.update(kw)
    return argparse.Namespace(**args)


def _test_args(config, ckpt, work_dir, **kw):
    args = dict(config=config, checkpoint=ckpt, work_dir=work_dir, eval=['AR@AN'], out=None,
                dump=None, unsafe_load=False, cfg_options=None, launcher='none')
    args.update(kw)
    return argparse.Namespace(**args)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('bmn_e2e')
    data = root / 'data'
    generate_synthetic_activitynet(str(data), num_train=12, num_val=6, seed=3,
                                   cfg=SyntheticConfig(temporal_dim=T, feat_dim=C, num_classes=3))
    config = root / 'bmn_tiny.py'
    config.write_text(CONFIG.format(repo=REPO, data=data, T=T, C=C))
    work_dir = root / 'work'
    run_train(build_train_config(_train_args(str(config), str(work_dir))))
    return dict(root=root, data=data, config=str(config), work_dir=work_dir)


def test_training_writes_small_checkpoints(trained):
    ckpt = safe_torch_load(str(trained['work_dir'] / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2
    assert {'state_dict', 'optimizer', 'param_schedulers', 'message_hub'} <= set(ckpt)
    keys = set(ckpt['state_dict'])
    assert 'x_1d_b.0.weight' in keys and 'x_2d_p.6.bias' in keys
    assert not any('sample_mask' in k or 'bm_mask' in k for k in keys)


def test_test_writes_results_and_eval_metric_agrees(trained):
    out = trained['root'] / 'results.json'
    metrics = run_test(build_test_config(_test_args(
        trained['config'], str(trained['work_dir'] / 'epoch_2.pth'), str(trained['work_dir']),
        out=str(out))))
    for key in ('auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'):
        assert any(k.endswith(key) for k in metrics), metrics
    results = json.loads(out.read_text())
    assert results['version'] == 'VERSION 1.3'
    anno = json.loads((trained['data'] / 'anet_anno_val.json').read_text())
    assert set(results['results']) == {name[2:] for name in anno}
    for vid, items in results['results'].items():
        assert 0 < len(items) <= 20
        scores = [it['score'] for it in items]
        assert scores == sorted(scores, reverse=True)
        duration = anno['v_' + vid]['duration_second']
        for it in items:
            assert list(it) == ['score', 'segment']
            assert 0 <= it['segment'][0] <= it['segment'][1] <= duration + 1e-6
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/analysis/eval_metric.py'), str(out), '--ann',
         str(trained['data'] / 'anet_anno_val.json'), '--eval', 'AR@AN'],
        capture_output=True, text=True, check=True)
    again = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ('AR@1', 'AR@5', 'AR@10', 'AR@100'):
        got = [v for k, v in metrics.items() if k.endswith(key)][0]
        assert again[key] == pytest.approx(got, abs=1e-9)


def test_resume_continues_from_last_checkpoint(trained, tmp_path):
    import shutil
    work = tmp_path / 'work'
    shutil.copytree(trained['work_dir'], work)
    runner = run_train(build_train_config(_train_args(
        trained['config'], str(work), resume='auto',
        cfg_options={'train_cfg.max_epochs': 3, 'param_scheduler.0.end': 3})))
    assert runner.epoch == 3
    ckpt3 = safe_torch_load(str(work / 'epoch_3.pth'))
    assert ckpt3['meta']['epoch'] == 3
    # the resumed run started at epoch 2: one epoch of iterations was added (12 videos / 4)
    ckpt2 = safe_torch_load(str(work / 'epoch_2.pth'))
    assert ckpt3['meta']['iter'] - ckpt2['meta']['iter'] == 3


def test_checkpoint_from_another_model_is_a_clear_error(trained, tmp_path):
    bad = tmp_path / 'other.pth'
    torch.save({'state_dict': {'conv1.weight': torch.zeros(3, 3, 3)}, 'meta': {}}, bad)
    with pytest.raises(ValueError, match=r'other\.pth.*does not fit the model BMN'):
        run_test(build_test_config(_test_args(trained['config'], str(bad),
                                              str(tmp_path / 'w'))))


def test_config_typo_is_named(trained, tmp_path):
    cfg = tmp_path / 'typo.py'
    cfg.write_text(f"_base_ = ['{trained['config']}']\ntrian_dataloader = dict(batch_size=2)\n")
    with pytest.raises(KeyError, match='trian_dataloader.*did you mean "train_dataloader"'):
        build_train_config(_train_args(str(cfg), str(tmp_path / 'w')))
    cfg.write_text(f"_base_ = ['{trained['config']}']\nmodel = dict(temporal_dimm=5)\n")
    with pytest.raises(TypeError, match='temporal_dimm'):
        run_train(build_train_config(_train_args(str(cfg), str(tmp_path / 'w2'))))


def test_amp_on_cpu_trains_with_bfloat16_autocast(trained, tmp_path):
    cfg = build_train_config(_train_args(trained['config'], str(tmp_path / 'amp'), amp=True,
                                         cfg_options={'train_cfg.max_epochs': 1}))
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.type == expected
    runner = run_train(cfg)
    assert runner.epoch == 1
    ckpt = safe_torch_load(str(tmp_path / 'amp' / 'epoch_1.pth'))
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())
