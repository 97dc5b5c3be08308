"""Writers under failure: a write that fails part-way (ENOSPC / EIO while writing, EIO from
fsync or from the rename) leaves the previous file intact and loadable and nothing
half-written under the final name; two processes writing the same file leave one complete
file. The SIGKILL-during-training trials are in ``test_kill_resume.py``.

Every writer goes through ``mmloc.utils.io.atomic_open`` (temp file beside the target,
fsync, ``os.replace``); the failure is injected into that write path.
"""
import errno
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import save_checkpoint

from mmloc.datasets.transforms.loading import read_feature_file
from mmloc.datasets.transforms.proposal_loading import (read_bsp_feature, read_proposals,
                                                        read_tem_results, write_bsp_feature,
                                                        write_proposals, write_tem_results)
from mmloc.engine.checkpoint import safe_torch_load
from mmloc.evaluation.formats import read_results, write_results
from mmloc.testing.synthetic_activitynet import _write_feature

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _values(version: int, shape) -> np.ndarray:
    return np.random.default_rng(version).uniform(0, 1, size=shape)


def _tem(version):
    t = 200
    anchors = np.stack([np.arange(t) / t, np.arange(1, t + 1) / t], axis=1)
    return np.concatenate([_values(version, (t, 3)), anchors], axis=1)


def _pgm(version):
    p = _values(version, (300, 7))
    p[:, :2] = np.sort(p[:, :2], axis=1)
    return p


def _results(version):
    segs = np.sort(_values(version, (500, 2)) * 100, axis=1)
    return {f'vid{i}': dict(segments=segs[i * 50:(i + 1) * 50], scores=_values(version, 50))
            for i in range(10)}


def _checkpoint(version):
    return {'state_dict': {'w': torch.from_numpy(_values(version, 20000))},
            'meta': {'epoch': version}}


@dataclass
class Writer:
    suffix: str
    write: Callable   # (path, version)
    check: Callable   # (path, version): loads the file, asserts it holds that version


def _check_results(path, version):
    got = read_results(path)
    want = _results(version)
    assert list(got) == list(want)
    for vid, rec in want.items():
        np.testing.assert_array_equal(got[vid]['segments'], rec['segments'])


def _check_checkpoint(path, version):
    ckpt = safe_torch_load(path)
    assert ckpt['meta']['epoch'] == version
    torch.testing.assert_close(ckpt['state_dict']['w'], _checkpoint(version)['state_dict']['w'])


WRITERS = {
    'checkpoint': Writer('.pth', lambda p, v: save_checkpoint(_checkpoint(v), p),
                         _check_checkpoint),
    'results_json': Writer('.json', lambda p, v: write_results(p, _results(v)), _check_results),
    'tem_csv': Writer('.csv', lambda p, v: write_tem_results(p, _tem(v)),
                      lambda p, v: np.testing.assert_array_equal(
                          read_tem_results(p), _tem(v).astype(np.float32))),
    'pgm_csv': Writer('.csv', lambda p, v: write_proposals(p, _pgm(v)),
                      lambda p, v: np.testing.assert_array_equal(
                          read_proposals(p), _pgm(v).astype(np.float32))),
    'bsp_npy': Writer('.npy', lambda p, v: write_bsp_feature(p, _values(v, (300, 32))),
                      lambda p, v: np.testing.assert_array_equal(read_bsp_feature(p),
                                                                 _values(v, (300, 32)))),
    'feature_npy': Writer('.npy', lambda p, v: _write_feature(
        p, _values(v, (100, 400)).astype(np.float32)), lambda p, v: np.testing.assert_array_equal(
            read_feature_file(p), _values(v, (100, 400)).astype(np.float32))),
    'feature_csv': Writer('.csv', lambda p, v: _write_feature(
        p, _values(v, (100, 40)).astype(np.float32)), lambda p, v: np.testing.assert_allclose(
            read_feature_file(p), _values(v, (100, 40)), atol=6e-5)),
}


class FailingFile:
    """A file that takes ``budget`` more bytes (or characters), then fails like a full or
    broken disk: the bytes up to the limit reach the real file, then ``OSError(code)``."""

    def __init__(self, real, budget: int, code: int) -> None:
        self.real, self.budget, self.code = real, budget, code

    def write(self, data):
        if len(data) > self.budget:
            if self.budget:
                self.real.write(data[:self.budget])
                self.real.flush()
            self.budget = 0
            raise OSError(self.code, os.strerror(self.code))
        self.budget -= len(data)
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.real.__exit__(*exc)


#: (name, errno, where): mid-write failures at seeded fractions of the file, fsync, rename
FAILURES = [('ENOSPC@0', errno.ENOSPC, 0.0), ('ENOSPC@0.31', errno.ENOSPC, 0.31),
            ('ENOSPC@0.77', errno.ENOSPC, 0.77), ('ENOSPC@last', errno.ENOSPC, 0.9999),
            ('EIO@0.5', errno.EIO, 0.5), ('EIO@fsync', errno.EIO, 'fsync'),
            ('EIO@rename', errno.EIO, 'replace')]


def inject(monkeypatch, code: int, where, size: int) -> None:
    if where == 'fsync':
        def fsync(fd):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(os, 'fsync', fsync)
    elif where == 'replace':
        def replace(src, dst):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(os, 'replace', replace)
    else:
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, 'fdopen', lambda *a, **kw: FailingFile(
            real_fdopen(*a, **kw), int(where * size), code))


@pytest.mark.parametrize('failure', FAILURES, ids=[f[0] for f in FAILURES])
@pytest.mark.parametrize('name', list(WRITERS))
def test_a_failing_write_keeps_the_previous_file(tmp_path, monkeypatch, name, failure):
    writer, (_, code, where) = WRITERS[name], failure
    path = str(tmp_path / f'out{writer.suffix}')
    writer.write(path, 1)
    before = open(path, 'rb').read()
    inject(monkeypatch, code, where, len(before))
    with pytest.raises(OSError) as err:
        writer.write(path, 2)
    monkeypatch.undo()
    assert err.value.errno == code
    assert open(path, 'rb').read() == before          # nothing half-written under the name
    writer.check(path, 1)                              # and still loadable
    assert os.listdir(tmp_path) == [os.path.basename(path)]   # the temp file is gone
    writer.write(path, 2)                              # the next write goes through
    writer.check(path, 2)


@pytest.mark.parametrize('name', list(WRITERS))
def test_a_failing_first_write_leaves_no_file(tmp_path, monkeypatch, name):
    writer = WRITERS[name]
    path = str(tmp_path / f'out{writer.suffix}')
    inject(monkeypatch, errno.ENOSPC, 0.5, 4096)
    with pytest.raises(OSError):
        writer.write(path, 1)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


WRITER_SCRIPT = """
import sys
import numpy as np
from mmloc.evaluation.formats import write_results
tag, times, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(int(tag))
results = {f'{tag}_{i}': dict(segments=np.sort(rng.uniform(0, 100, (40, 2)), axis=1),
                              scores=rng.uniform(size=40)) for i in range(50)}
print('ready', flush=True)
sys.stdin.readline()
for _ in range(times):
    write_results(out, results)
"""


def test_two_processes_writing_the_same_out_leave_one_complete_file(tmp_path):
    """Both write ``--out`` 20 times at once (150 kB each) while this process keeps reading
    it: every read is a complete results file, and one complete file remains."""
    out = tmp_path / 'results.json'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1')
    procs = [subprocess.Popen([sys.executable, '-c', WRITER_SCRIPT, tag, '20', str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
             for tag in ('1', '2')]
    for p in procs:                 # both imported and built their results: start together
        assert p.stdout.readline().strip() == 'ready'
    for p in procs:
        p.stdin.write('go\n')
        p.stdin.flush()
    reads, seen = 0, set()
    while any(p.poll() is None for p in procs):
        if out.exists():
            got = read_results(str(out))      # raises on a truncated or mixed file
            assert len(got) == 50 and len({vid.split('_')[0] for vid in got}) == 1
            seen.add(next(iter(got)).split('_')[0])
            reads += 1
    assert [p.wait() for p in procs] == [0, 0]
    final = read_results(str(out))
    assert len(final) == 50 and len({vid.split('_')[0] for vid in final}) == 1
    assert all(rec['segments'].shape == (40, 2) for rec in final.values())
    assert os.listdir(tmp_path) == ['results.json']   # no temp file left by either
    assert reads > 0, 'the reader never saw the file while it was being written'
