"""reuse_freed_cpu_memory: freed large tensors are reused without new page faults."""
import platform
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config

from mmloc.utils import cpu_memory

GLIBC = sys.platform.startswith('linux') and platform.libc_ver()[0] == 'glibc'

_FAULTS = textwrap.dedent('''
    import resource, sys, torch
    from mmloc.utils.cpu_memory import reuse_freed_cpu_memory
    if sys.argv[1] == 'on':
        assert reuse_freed_cpu_memory()
    def step():
        t = torch.empty(64 * 1024 * 1024 // 4)   # 64 MiB, above any mmap threshold
        t.fill_(1.0)
        return float(t[0])
    step(); step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
''')


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, '-c', _FAULTS, mode], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason='glibc malloc only')
def test_freed_blocks_are_reused_without_page_faults():
    pages = 5 * 64 * 1024 * 1024 // 4096
    assert _faults('off') > pages // 2           # glibc's default: fresh pages each time
    # With the reuse, a process may still fault one of the five blocks in: seen in CI (one
    # block in three, probably no room for the heap to grow, so glibc fell back to mmap)
    # and on a loaded machine (a small allocation split the freed block once, so the heap
    # grew by one block); the layout differs per process, so the best of up to five counts,
    # and at most one block of the five may fault (the default faults every one). On a 2-core
    # Zen 5 machine 4 processes in 12 faulted 3 blocks (best of three: ~1 run in 27 fails).
    limit = pages // 5 + pages // 100
    best = pages
    for _ in range(5):
        best = min(best, _faults('on'))
        if best <= limit:
            break
    assert best <= limit


def test_env_cfg_switch(monkeypatch):
    calls = []
    monkeypatch.setattr(cpu_memory, 'reuse_freed_cpu_memory',
                        lambda enable=True: calls.append(enable) or True)
    monkeypatch.setitem(cpu_memory._state, 'enabled', False)
    assert cpu_memory.apply_env_cpu_memory(None) is False and calls == []
    assert cpu_memory.apply_env_cpu_memory({}) is False and calls == []
    cpu_memory.apply_env_cpu_memory({'reuse_freed_cpu_memory': True})
    cpu_memory.apply_env_cpu_memory({'reuse_freed_cpu_memory': False})
    assert calls == [True, False]
    with pytest.raises(ValueError, match='reuse_freed_cpu_memory must be True or False'):
        cpu_memory.apply_env_cpu_memory({'reuse_freed_cpu_memory': 'yes'})


def test_default_runtime_turns_it_on():
    cfg = Config.fromfile('configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py')
    assert cfg.env_cfg.reuse_freed_cpu_memory is True


def test_run_train_and_run_test_apply_it_before_building(monkeypatch):
    from mmloc.apis import train_test
    order = []
    monkeypatch.setattr(train_test, 'apply_env_cpu_memory',
                        lambda env_cfg: order.append(('apply', env_cfg['reuse_freed_cpu_memory'])))

    class Stop(Exception):
        pass

    def from_cfg(cfg):
        order.append('build')
        raise Stop
    monkeypatch.setattr(train_test.Runner, 'from_cfg', staticmethod(from_cfg))
    for run in (train_test.run_train, train_test.run_test):
        with pytest.raises(Stop):
            run(Config(dict(env_cfg=dict(reuse_freed_cpu_memory=True), test_checkpoint='x')))
    assert order == [('apply', True), 'build'] * 2
