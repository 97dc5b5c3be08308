"""The benchmark scripts still run against the package (tiny sizes; no timing is asserted:
speed is measured by running them, see docs/benchmarks.md)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

CASES = {
    'bmn': ['--device', 'cpu', '--threads', '1', '--batch', '2', '--temporal-dim', '16',
            '--feat-dim', '16', '--num-samples', '4', '--steps', '1', '--warmup', '0',
            '--infer-videos', '1', '--postproc-videos', '1'],
    'bmn_floor': ['--threads', '1', '--batch', '1', '--steps', '1', '--peak-repeat', '1',
                  '--gemm-size', '128', '--variants', 'default,channels_last'],
    'bsn_pgm': ['--videos', '2', '--repeat', '1'],
    'epoch_time': ['--videos', '8', '--workers', '0', '--threads', '1'],
    'page_faults': ['--models', 'pem', '--pairs', '1', '--steps', '1'],
    'json_load': ['--videos', '20', '--detections', '5', '--repeat', '1'],
    'soft_nms_rows': ['--sizes', '40,600', '--repeat', '1'],
    'eval': ['--videos', '40', '--proposals', '10', '--classes', '4'],
    'extract_features': ['--minutes', '0.2', '--threads', '1', '--size', '64', '48'],
    'scale_eval': ['--videos', '40', '--proposals', '10', '--det-videos', '40',
                   '--detections', '5', '--classes', '4'],
    'afsd': ['--device', 'cpu', '--threads', '1', '--clip-length', '128', '--crop', '32',
             '--train-steps', '1', '--infer-windows', '1'],
    'actionformer': ['--quick', '--threads', '1'],
}


# the model benchmarks take ~10 s each even at tiny sizes (actionformer starts four
# children, ~40 s), scale_eval starts five processes: slow run only
MARKS = {'bmn': pytest.mark.slow, 'afsd': pytest.mark.slow, 'scale_eval': pytest.mark.slow,
         'actionformer': pytest.mark.slow,
         'bmn_floor': pytest.mark.slow, 'epoch_time': pytest.mark.slow,
         'extract_features': pytest.mark.skipif(importlib.util.find_spec('av') is None,
                                                reason='PyAV is not installed')}


@pytest.mark.parametrize('name', [pytest.param(n, marks=MARKS[n]) if n in MARKS else n
                                  for n in sorted(CASES)])
def test_benchmark_runs_and_prints_json(name):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'benchmarks', f'{name}.py')]
                          + CASES[name], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(last, dict) and last
