"""Writers under failure: a write that fails part-way (ENOSPC / EIO while writing, EIO from
fsync or from the rename) leaves the previous file intact and loadable and nothing
half-written under the final name; two processes writing the same file leave one complete
file. Feature files as tools/data/extract_features.py writes them (features + sidecar) are
never left looking finished after a failure. The SIGKILL-during-training trials are in
``test_kill_resume.py``.

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

from mmloc.apis.extraction import is_finished, save_features
from mmloc.datasets.transforms.loading import read_feature_file
from mmloc.datasets.transforms.proposal_loading import (read_bsp_feature, read_proposals,
                                                        read_tem_results, write_bsp_feature,
                                                        write_proposals, write_tem_results)
from mmloc.engine.checkpoint import safe_torch_load
from mmloc.evaluation.formats import read_results, write_results
from mmloc.structures import TimeGrid
from mmloc.testing.synthetic_activitynet import _write_feature
from mmloc.video.sidecar import grid_to_dict, read_sidecar, sidecar_path

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


def inject(monkeypatch, code: int, where, size: int, skip: int = 0) -> None:
    """Fail the write path at ``where`` (a share of ``size`` bytes, ``'fsync'`` or
    ``'replace'``) in the file written after ``skip`` files that go through untouched."""
    name = where if where in ('fsync', 'replace') else 'fdopen'
    real, calls = getattr(os, name), {'n': 0}

    def failing(*args, **kwargs):
        calls['n'] += 1
        if calls['n'] <= skip:
            return real(*args, **kwargs)
        if name == 'fdopen':
            return FailingFile(real(*args, **kwargs), int(where * size), code)
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(os, name, failing)


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


def _extracted(version: int, ext: str):
    feats = _values(version, (30 + version, 16)).astype(np.float32)
    grid = grid_to_dict(TimeGrid.from_features(len(feats), 10.0, 4, 8))
    return feats, dict(time_grid=grid, snippet_grid=grid, version=version)


@pytest.mark.parametrize('failure', FAILURES, ids=[f[0] for f in FAILURES])
@pytest.mark.parametrize('target', ['features', 'sidecar'])
@pytest.mark.parametrize('ext', ['.npy', '.csv'])
def test_a_failing_feature_write_never_leaves_a_finished_looking_pair(tmp_path, monkeypatch,
                                                                      ext, target, failure):
    """``save_features`` (what tools/data/extract_features.py writes) run again over a finished
    video (``--overwrite``) fails in the feature file or in its sidecar: the pair is not
    finished (it is extracted again on the next run), the feature file is the old or the new
    one, whole, and no temp file is left; the next write goes through."""
    _, code, where = failure
    path = str(tmp_path / f'clip{ext}')
    save_features(path, *_extracted(1, ext))
    before = open(path, 'rb').read()
    size = len(before) if target == 'features' else os.path.getsize(sidecar_path(path))
    inject(monkeypatch, code, where, size, skip=int(target == 'sidecar'))
    with pytest.raises(OSError) as err:
        save_features(path, *_extracted(2, ext))
    monkeypatch.undo()
    assert err.value.errno == code
    assert not is_finished(path)
    survivor = 1 if target == 'features' else 2
    np.testing.assert_allclose(read_feature_file(path), _extracted(survivor, ext)[0], rtol=1e-6)
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    save_features(path, *_extracted(2, ext))
    assert is_finished(path)
    assert read_sidecar(path, num_rows=len(read_feature_file(path)))['version'] == 2


def test_extract_features_tool_on_a_full_disk_reports_the_video_and_resumes(tmp_path,
                                                                          monkeypatch, capsys):
    """The disk fills while the tool writes the second video's features: that video is
    reported failed (exit 2), the first stays finished, nothing half-written is left, and the
    next run extracts only the failed one."""
    import importlib.util

    from mmloc.testing.synthetic_video import write_video
    from mmloc.utils.cli import run_tool
    spec = importlib.util.spec_from_file_location(
        'extract_tool_enospc', os.path.join(REPO, 'tools/data/extract_features.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    videos, out = tmp_path / 'videos', tmp_path / 'feats'
    videos.mkdir()
    for name in ('a', 'b'):
        write_video(str(videos / f'{name}.mp4'), 2.0, 10, [(0.2, 1.0, 0)])
    argv = [os.path.join(REPO, 'configs/extractors/tiny3d_rgb_demo.py'), '--random-init',
            '--videos', str(videos), '--out', str(out), '--workers', '0']
    inject(monkeypatch, errno.ENOSPC, 0.5, 400, skip=2)   # a.npy, a.sidecar.json, then b.npy
    with pytest.raises(SystemExit) as exit_:
        run_tool(tool.main, argv)
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert exit_.value.code == 2
    assert '1 extracted, 0 skipped, 1 failed' in captured.out
    assert f'failed {videos / "b.mp4"}: OSError: [Errno {errno.ENOSPC}]' in captured.err
    assert sorted(os.listdir(out)) == ['a.npy', 'a.sidecar.json']
    summary = tool.main(argv)
    assert [os.path.basename(v) for v in summary['done']] == ['b.mp4']
    assert is_finished(str(out / 'b.npy'))
