"""tools/dist_train.sh trains ActionFormer and TriDet with 2 gloo processes on the CPU.

The equality with one process is tested without the launcher, in
``tests/actionformer/test_af_ddp.py``; here the real tool chain runs: torchrun, gloo started by
``tools/train.py``, the EMA hook, the all-reduced loss normaliser, the checkpoint.
"""
import sys

import pytest
import torch

from dist_helpers import read_losses, run_tool

pytestmark = pytest.mark.slow

DEMO = {'actionformer': 'configs/localization/actionformer/actionformer_synthetic_demo.py',
        'tridet': 'configs/localization/tridet/tridet_synthetic_demo.py'}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('af_dist_data')
    run_tool([sys.executable, 'tools/data/synthetic/generate_features.py', str(root),
              '--num-train', '8', '--num-val', '2', '--feat-dim', '32', '--num-classes', '4',
              '--steps', '60', '320', '--max-actions', '4', '--coverage', '0.02', '0.35',
              '--seed', '0'])
    return root


CONFIG = """
_base_ = ['{repo}/{demo}']
custom_imports = dict(imports=['dist_helpers'], allow_failed_imports=False)
_ds = dict(ann_file='{data}/annotations.json', data_prefix=dict(feature='{data}/features'))
train_dataloader = dict(batch_size=2, dataset=_ds)
val_dataloader = dict(dataset=_ds)
test_dataloader = dict(dataset=_ds)
train_cfg = dict(max_epochs=2, val_begin=100)
default_hooks = dict(checkpoint=dict(interval=2))
custom_hooks = [dict(type='LocalizationEMAHook', ema_type='ExponentialMovingAverage',
                     momentum=0.001, update_buffers=True, priority=49),
                dict(type='LossRecorderHook')]
"""


@pytest.mark.parametrize('name', sorted(DEMO))
def test_dist_train_two_gloo_processes(name, data, tmp_path):
    from dist_helpers import REPO
    config = tmp_path / f'{name}_dist.py'
    config.write_text(CONFIG.format(repo=REPO, demo=DEMO[name], data=data))
    run_tool(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
              str(tmp_path / 'work')])
    losses = read_losses(str(tmp_path / 'work'))
    assert sorted(losses) == [0, 1]
    assert len(losses[0]) == len(losses[1]) == 4        # 8 videos / (2 ranks x 2) x 2 epochs
    assert all(torch.isfinite(torch.tensor(r['loss'])) for rank in losses.values() for r in rank)
    ckpt = torch.load(tmp_path / 'work' / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 4 and 'ema_state_dict' in ckpt
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
