"""A new method is its own files plus a config: a toy localizer defined in this file only.

The toy method (a backbone, a head and a loss, registered here) trains and tests through
``tools/train.py`` / ``tools/test.py`` on seeded variable-length features, using only the
shared parts of mmloc: ``FeatureDataset(fit_mode='pad')``, ``LoadLocalizationFeature``,
``SegmentsToGrid``, ``PackLocalizationInputs``, ``localization_collate`` (padding masks),
``Segments`` / ``TimeGrid`` (back to seconds) and ``ANetMetric``. Nothing under ``mmloc/``
knows about it: the config imports this module with ``custom_imports``.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn

from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS
from mmloc.structures import Segments

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))
FEAT_DIM, FPS, STRIDE, WINDOW = 8, 10.0, 4, 8


# ----------------------------------------------------------------------------- the method
@MODELS.register_module(force=True)
class ToyBackbone(nn.Module):
    """(B, C, T) -> (B, H, T); padded positions are zeroed after every layer."""

    def __init__(self, in_channels: int, hidden: int = 16):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, hidden, 3, padding=1)
        self.conv2 = nn.Conv1d(hidden, hidden, 3, padding=1)

    def forward(self, x, mask):
        m = mask[:, None].to(x.dtype)
        x = F.relu(self.conv1(x * m)) * m
        return F.relu(self.conv2(x)) * m


@MODELS.register_module(force=True)
class ToyHead(nn.Module):
    """(B, H, T) -> actionness logits (B, T)."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.conv = nn.Conv1d(hidden, 1, 1)

    def forward(self, x):
        return self.conv(x)[:, 0]


@MODELS.register_module(force=True)
class ToyMaskedBCELoss(nn.Module):
    """Binary cross-entropy over the valid (unpadded) positions only."""

    def forward(self, logits, targets, mask):
        per = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
        return (per * mask).sum() / mask.sum().clamp(min=1)


@MODELS.register_module(force=True)
class ToyLocalizer(BaseModel):
    """Actionness per position; proposals are runs above a few thresholds."""

    def __init__(self, backbone, head, loss, thresholds=(0.3, 0.5, 0.7),
                 data_preprocessor=None):
        # mmloc's default preprocessor: no rebuilt batch when it is already on the device
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor))
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        self.loss_fn = MODELS.build(loss)
        self.thresholds = thresholds

    def forward(self, inputs, data_samples=None, mode='tensor'):
        mask = torch.stack([s.input_mask for s in data_samples]).to(inputs.device)
        logits = self.head(self.backbone(inputs, mask))
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return dict(loss=self.loss_fn(logits, self._targets(data_samples, logits), mask))
        return self._predict(logits.sigmoid(), data_samples)

    @staticmethod
    def _targets(data_samples, logits):
        centres = torch.arange(logits.shape[1], dtype=torch.float32)   # grid positions
        out = torch.zeros_like(logits)
        for i, s in enumerate(data_samples):
            for a, b in s.gt_instances.segments.tolist():
                out[i] = torch.maximum(out[i], ((centres >= a) & (centres <= b)).float())
        return out

    def _predict(self, prob, data_samples):
        for p, s in zip(prob, data_samples):
            n = s.metainfo['valid_length']
            p = p[:n].detach().numpy()
            segs, scores = [], []
            for thr in self.thresholds:
                above = np.concatenate([[False], p > thr, [False]])
                edges = np.flatnonzero(np.diff(above.astype(int)))
                for a, b in zip(edges[::2], edges[1::2]):     # positions a .. b-1
                    segs.append([a - 0.5, b - 0.5])          # snippet edges, grid units
                    scores.append(float(p[a:b].mean()))
            if not segs:
                segs, scores = [[0.0, n - 1.0]], [0.0]
            grid = s.metainfo['time_grid']
            seconds = Segments(np.asarray(segs, np.float64), 'index').to('second', grid)
            order = np.argsort(scores)[::-1]
            s.pred_instances = InstanceData(
                segments=torch.from_numpy(grid.clip_seconds(seconds.numpy())[order]),
                scores=torch.tensor(scores, dtype=torch.float64)[order.copy()])
        return data_samples


# ----------------------------------------------------------------------------- the data
def make_dataset(root, num_train=32, num_val=12, seed=0):
    """Variable-length (20-120 positions) features, the walkthrough's generator."""
    from mmloc.testing.synthetic_features import (SyntheticFeatureConfig,
                                                  generate_synthetic_features)
    generate_synthetic_features(root, num_train, num_val, seed, SyntheticFeatureConfig(
        feat_dim=FEAT_DIM, num_classes=1, fps=FPS, feat_stride=STRIDE, feat_num_frames=WINDOW,
        min_steps=20, max_steps=120))


CONFIG = """
default_scope = 'mmloc'
custom_imports = dict(imports=['test_toy_method'], allow_failed_imports=False)
model = dict(type='ToyLocalizer', backbone=dict(type='ToyBackbone', in_channels={C}),
             head=dict(type='ToyHead'), loss=dict(type='ToyMaskedBCELoss'))
_meta = ('video_name', 'duration_second', 'annotations')
_pipeline = [dict(type='LoadLocalizationFeature', feat_dim={C}),
             dict(type='SegmentsToGrid', unit='index'),
             dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
                  meta_keys=_meta)]
_ds = dict(type='FeatureDataset', ann_file='{data}/annotations.json',
           data_prefix=dict(feature='{data}/features'), feat_stride={S}, feat_num_frames={W},
           fit_mode='pad', num_steps=96, pipeline=_pipeline)
_loader = dict(num_workers=0, persistent_workers=False,
               collate_fn=dict(type='localization_collate'))
train_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(_ds, subset='training'), **_loader)
val_dataloader = dict(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(_ds, subset='validation', test_mode=True), **_loader)
test_dataloader = val_dataloader
val_evaluator = dict(type='ANetMetric', metric_type='AR@AN')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_begin=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.01))
default_hooks = dict(logger=dict(type='LoggerHook', interval=5),
                     checkpoint=dict(type='CheckpointHook', interval=12))
randomness = dict(seed=0)
"""


def _run(args, root):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, REPO, os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy'))
    data = osp.join(root, 'data')
    make_dataset(data)
    config = osp.join(root, 'toy_config.py')
    with open(config, 'w') as f:
        f.write(CONFIG.format(C=FEAT_DIM, S=STRIDE, W=WINDOW, data=data))
    work = osp.join(root, 'work')
    _run([osp.join(REPO, 'tools/train.py'), config, '--work-dir', work], root)
    out = osp.join(root, 'results.json')
    test = _run([osp.join(REPO, 'tools/test.py'), config, osp.join(work, 'epoch_12.pth'),
                 '--eval', 'AR@AN', '--out', out, '--work-dir', work], root)
    return dict(root=root, data=data, config=config, out=out, log=test.stdout + test.stderr)


def test_toy_method_trains_and_tests_through_the_tools(toy_run):
    with open(toy_run['out']) as f:
        results = json.load(f)['results']
    assert len(results) == 12
    # learnable data: the toy finds most actions
    ar100 = float(next(line.split('AR@100:')[1].split()[0] for line in toy_run['log'].splitlines()
                       if 'AR@100:' in line))
    assert ar100 > 0.6, toy_run['log'][-2000:]
    for vid, props in results.items():
        for p in props:
            assert 0.0 <= p['segment'][0] <= p['segment'][1]


def test_batches_are_padded_with_masks_and_grids_follow_the_crop(toy_run):
    from mmengine.config import Config
    from mmloc.datasets import localization_collate
    from mmloc.registry import DATASETS
    from mmloc.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(toy_run['config'])
    val = DATASETS.build(cfg.val_dataloader.dataset)
    batch = localization_collate([val[i] for i in range(4)])
    lengths = [s.valid_length for s in batch['data_samples']]
    assert batch['inputs'].shape == (4, FEAT_DIM, max(lengths))
    for s, n in zip(batch['data_samples'], lengths):
        assert s.input_mask.sum() == n and s.input_mask[:n].all()
    assert len(set(lengths)) > 1                      # really variable length
    train = DATASETS.build(cfg.train_dataloader.dataset)
    long_ones = [train[i] for i in range(len(train)) if train.get_data_info(i)['duration_second']
                 * FPS / STRIDE > 100]
    assert long_ones, 'the seeded set has videos longer than the crop'
    for item in long_ones:
        s = item['data_samples']
        assert item['inputs'].shape[-1] == 96
        # GT in window coordinates, inside the crop
        seg = s.gt_instances.segments.numpy()
        assert ((seg >= 0) & (seg <= 96)).all()
        assert s.time_grid.num_steps == 96


def test_the_walkthrough_shows_this_code():
    """docs/adding_a_method.md shows the classes and the config of this file."""
    import re
    with open(osp.join(REPO, 'docs', 'adding_a_method.md'), encoding='utf-8') as f:
        doc = f.read()
    with open(__file__, encoding='utf-8') as f:
        src = f.read()
    blocks = re.findall(r'(@MODELS\.register_module\(force=True\)\nclass .*?)(?=\n\n\n)', src,
                        re.S)
    assert len(blocks) == 4
    for block in blocks:
        assert block.replace('register_module(force=True)', 'register_module()') in doc, \
            block.splitlines()[1]
    config = CONFIG.format(C=FEAT_DIM, S=STRIDE, W=WINDOW, data='data/toy').replace(
        "imports=['test_toy_method']", "imports=['projects.toy_localizer.toy_localizer']")
    assert config.strip() in doc
