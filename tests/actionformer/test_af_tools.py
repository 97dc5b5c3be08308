"""The checkpoint converter, and (slow) the synthetic demo through tools/train.py + test.py."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmloc.registry import MODELS
from mmloc.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = {'actionformer': 'configs/localization/actionformer/actionformer_synthetic_demo.py',
        'tridet': 'configs/localization/tridet/tridet_synthetic_demo.py'}
#: demo average mAP (0.3:0.7) floors, set below the first honest CPU runs (docs/actionformer.md)
DEMO_MAP_FLOOR = {'actionformer': 0.55, 'tridet': 0.60}


def _run(args, timeout=600):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='2')
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize('name', sorted(DEMO))
def test_convert_upstream_checkpoint(tmp_path, name):
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(REPO, DEMO[name])).model)
    sd = {f'module.{k}': v for k, v in model.state_dict().items()}
    src = tmp_path / 'epoch_030.pth.tar'
    torch.save({'epoch': 30, 'state_dict': sd, 'optimizer': {}, 'scheduler': {},
                'state_dict_ema': {k: v * 2 for k, v in sd.items()}}, src)
    dst = tmp_path / 'ours.pth'
    proc = _run(['tools/misc/convert_actionformer_checkpoint.py', str(src), str(dst),
                 '--config', DEMO[name]])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = torch.load(dst, weights_only=True)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(out['state_dict'][k], v * 2)
    other = DEMO['tridet' if name == 'actionformer' else 'actionformer']
    proc = _run(['tools/misc/convert_actionformer_checkpoint.py', str(src), str(dst),
                 '--config', other])
    assert proc.returncode == 2 and 'does not fit' in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(DEMO))
def test_synthetic_demo_map(tmp_path, name):
    data = osp.join(REPO, 'data', 'synthetic_actionformer')
    if not osp.isfile(osp.join(data, 'annotations.json')):
        proc = _run(['tools/data/synthetic/generate_features.py', data, '--num-train', '80',
                     '--num-val', '30', '--feat-dim', '32', '--num-classes', '4', '--steps',
                     '60', '320', '--max-actions', '4', '--coverage', '0.02', '0.35',
                     '--noise', '0.6', '--seed', '0'])
        assert proc.returncode == 0, proc.stderr[-2000:]
    work = str(tmp_path / name)
    proc = _run(['tools/train.py', DEMO[name], '--work-dir', work], timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = str(tmp_path / 'results.json')
    proc = _run(['tools/test.py', DEMO[name], osp.join(work, 'epoch_30.pth'), '--eval', 'mAP',
                 '--out', out], timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines() if 'test metrics' in ln][-1]
    avg = float(line.split("'average_mAP': ")[1].split('}')[0].split(',')[0])
    assert avg >= DEMO_MAP_FLOOR[name], line
    assert json.load(open(out))
