"""End to end on generated data: train -> test --eval mAP --out, features and raw frames."""
import argparse
import json
import os.path as osp

import pytest

from mmloc.apis import build_test_config, build_train_config, run_test, run_train
from mmloc.testing.synthetic_thumos import (SyntheticThumosConfig,
                                            generate_synthetic_thumos_features,
                                            generate_synthetic_thumos_frames)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
THRESHOLDS = ('0.10', '0.20', '0.30', '0.40', '0.50', '0.60', '0.70')


def _train_args(config, work_dir, cfg_options=None):
    return argparse.Namespace(
        config=config, work_dir=work_dir, resume=None, amp=False, no_validate=False,
        auto_scale_lr=False, seed=None, diff_rank_seed=False, deterministic=False,
        unsafe_load=False, cfg_options=cfg_options, launcher='none')


def _test_args(config, ckpt, work_dir, out, cfg_options=None):
    return argparse.Namespace(
        config=config, checkpoint=ckpt, work_dir=work_dir, eval=['mAP'], out=out, dump=None,
        unsafe_load=False, cfg_options=cfg_options, launcher='none')


def _check_results(out, metrics, video_ids):
    assert [f'mAP@{t}' for t in THRESHOLDS] == [k for k in metrics if k.startswith('mAP@')]
    with open(out) as f:
        results = json.load(f)['results']
    assert set(results) == set(video_ids)
    item = next(iter(results.values()))[0]
    assert set(item) >= {'segment', 'score', 'label'}


FEATURE_CONFIG = """
_base_ = ['{repo}/configs/localization/ssn/ssn_synthetic_demo_test.py']
_data = '{data}'
train_dataloader = dict(dataset=dict(ann_file=_data + '/thumos_anno_train.json',
                                     data_prefix=dict(video=_data + '/features')))
_eval_ds = dict(ann_file=_data + '/thumos_anno_val.json',
                data_prefix=dict(video=_data + '/features'),
                reg_normalize_constants=dict(ann_file=_data + '/thumos_anno_train.json'))
val_dataloader = dict(dataset=_eval_ds)
test_dataloader = dict(dataset=_eval_ds)
train_cfg = dict(max_epochs=8, val_begin=100, val_interval=100)  # tested below instead
param_scheduler = [dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[6])]
default_hooks = dict(checkpoint=dict(interval=8))
"""


def test_feature_demo_trains_and_tests(tmp_path):
    data = str(tmp_path / 'data')
    paths = generate_synthetic_thumos_features(data, num_train=24, num_val=6, seed=3,
                                               cfg=SyntheticThumosConfig())
    config = tmp_path / 'ssn_feature_e2e.py'
    config.write_text(FEATURE_CONFIG.format(repo=REPO, data=data))
    work = str(tmp_path / 'work')
    run_train(build_train_config(_train_args(str(config), work)))
    ckpt = osp.join(work, 'epoch_8.pth')
    assert osp.isfile(ckpt)
    out = str(tmp_path / 'results.json')
    metrics = run_test(build_test_config(_test_args(str(config), ckpt, work, out)))
    with open(paths['ann_file_val']) as f:
        vids = list(json.load(f))
    _check_results(out, metrics, vids)
    # 8 short epochs already separate the synthetic classes (the full demo reaches > 0.5)
    assert metrics['mAP@0.10'] > 0.3


FRAME_CONFIG = """
_base_ = ['{repo}/configs/localization/ssn/ssn_r50_450e_thumos14_rgb_{split}.py']
model = dict(cls_head=dict(num_classes=3), test_cfg=dict(batch_size=8))
_load = dict(type='SSNLoadFrames', scale=(40, 32), crop_size=32)
{body}
"""
TRAIN_BODY = """
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(
    ann_file='{data}/thumos14_tag_val_proposal_list.txt',
    data_prefix=dict(video='{data}/rawframes'),
    pipeline=[dict(type='SampleProposalFrames', mode='train'), _load, dict(type='PackSSNInputs')]))
train_cfg = dict(max_epochs=1)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
model_wrapper_cfg = None
"""
TEST_BODY = """
thumos14_classes = ['c1', 'c2', 'c3']
test_dataloader = dict(num_workers=0, dataset=dict(
    ann_file='{data}/thumos14_tag_test_proposal_list.txt',
    data_prefix=dict(video='{data}/rawframes'),
    pipeline=[dict(type='SampleProposalFrames', mode='test'), _load, dict(type='PackSSNInputs')],
    reg_normalize_constants=dict(_delete_=True,
                                 ann_file='{data}/thumos14_tag_val_proposal_list.txt')))
test_evaluator = dict(classes=thumos14_classes)
"""


@pytest.mark.slow  # ResNet-50 on 2 x 72 frames: ~10 s per iteration on one CPU thread
def test_raw_frame_path_trains_and_tests(tmp_path):
    data = str(tmp_path / 'data')
    generate_synthetic_thumos_frames(data, num_val=4, num_test=2, seed=0)
    cfgs = {}
    for split, body in (('train', TRAIN_BODY), ('test', TEST_BODY)):
        cfgs[split] = tmp_path / f'ssn_frames_{split}.py'
        cfgs[split].write_text(FRAME_CONFIG.format(repo=REPO, split=split,
                                                   body=body.format(data=data)))
    work = str(tmp_path / 'work')
    runner = run_train(build_train_config(_train_args(str(cfgs['train']), work)))
    assert runner.iter == 2  # 4 videos, 2 per batch, 1 epoch
    ckpt = osp.join(work, 'epoch_1.pth')
    out = str(tmp_path / 'results.json')
    metrics = run_test(build_test_config(_test_args(str(cfgs['test']), ckpt, work, out)))
    _check_results(out, metrics, ['video_test_0000000', 'video_test_0000001'])
