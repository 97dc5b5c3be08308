"""The four OpenMMLab launch scripts build the same commands through tools/launchers/."""
import os
import os.path as osp
import subprocess

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _fake(tmp_path, name):
    path = tmp_path / name
    path.write_text('#!/usr/bin/env bash\necho "$0 $*"\n')
    path.chmod(0o755)
    return str(path)


def _run(script, args, tmp_path, **env):
    full = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}', **env)
    (tmp_path / 'cfg.py').write_text('')       # the launchers check the config is there
    out = subprocess.run(['bash', osp.join(REPO, 'tools', script)] + args, env=full,
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    return out.stdout.strip().split()


def test_dist_scripts(tmp_path):
    py = _fake(tmp_path, 'fakepython')
    words = _run('dist_train.sh', ['cfg.py', '4', '--seed', '1'], tmp_path, PYTHON=py,
                 NNODES='2', NODE_RANK='1', PORT='29600')
    assert words[1:3] == ['-m', 'mmloc.utils.torchrun']     # torchrun, failing like a tool
    assert {'--nnodes=2', '--node_rank=1', '--nproc_per_node=4', '--master_port=29600'} \
        <= set(words)
    assert words[-5:] == ['cfg.py', '--seed', '1', '--launcher', 'pytorch']
    assert words[-6].endswith('tools/train.py')
    words = _run('dist_test.sh', ['cfg.py', 'ck.pth', '2', '--eval', 'AR@AN'], tmp_path,
                 PYTHON=py)
    assert '--nproc_per_node=2' in words
    assert words[-7:] == [words[-7], 'cfg.py', 'ck.pth', '--eval', 'AR@AN', '--launcher',
                          'pytorch']
    assert words[-7].endswith('tools/test.py')


def test_slurm_scripts(tmp_path):
    _fake(tmp_path, 'srun')
    words = _run('slurm_train.sh', ['part', 'job', 'cfg.py', 'wd', '--amp'], tmp_path, GPUS='16')
    assert words[1:3] == ['-p', 'part'] and '--job-name=job' in words and '--ntasks=16' in words
    tail = words[words.index('-u') + 1:]
    assert tail[0].endswith('tools/train.py')
    assert tail[1:] == ['cfg.py', '--work-dir=wd', '--amp', '--launcher=slurm']
    words = _run('slurm_test.sh', ['part', 'job', 'cfg.py', 'ck.pth', '--eval', 'mAP'], tmp_path)
    tail = words[words.index('-u') + 1:]
    assert tail[0].endswith('tools/test.py')
    assert tail[1:] == ['cfg.py', 'ck.pth', '--eval', 'mAP', '--launcher=slurm']
