import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from mmloc.engine import safe_torch_load, set_unsafe_checkpoint_loading

_MARKER = []


def _record_call(value):
    _MARKER.append(value)
    return value


class _Evil:
    def __reduce__(self):
        return (_record_call, ('executed',))


def test_runner_style_checkpoint_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('ckpt-test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    ckpt = {'meta': {'epoch': 3, 'seed': np.int64(7), 'hook_msgs': {'best_score': np.float64(0.6)}},
            'state_dict': {'w': torch.ones(2)},
            'message_hub': hub.state_dict(),
            'extra': np.arange(4, dtype=np.float32)}
    path = tmp_path / 'epoch_3.pth'
    torch.save(ckpt, path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert loaded['meta']['epoch'] == 3
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(loaded['extra'], np.arange(4))


def test_pickled_code_is_refused_unless_opted_in(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Evil()}, path)
    _MARKER.clear()
    with pytest.raises(RuntimeError, match=r'evil\.pth.*--unsafe-load'):
        _load_checkpoint(str(path))
    assert _MARKER == []
    set_unsafe_checkpoint_loading(True)
    try:
        loaded = safe_torch_load(str(path))
    finally:
        set_unsafe_checkpoint_loading(False)
    assert loaded['x'] == 'executed' and _MARKER == ['executed']


def test_getattr_is_restricted(tmp_path):
    """A crafted getattr(HistoryBuffer, <anything>) must not pass the allow-list."""

    class _Sneaky:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': _Sneaky()}, path)
    with pytest.raises(RuntimeError, match='sneaky'):
        _load_checkpoint(str(path))


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save({'w': torch.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match=r'cut\.pth'):
        _load_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(os.path.join(tmp_path, 'nope.pth'))


def test_history_buffer_checkpoint_loads_in_a_fresh_process(tmp_path):
    """HistoryBuffer's statistics table is empty until a first buffer exists; the allow-list
    must not depend on it (tools/test.py and --resume load in a fresh process)."""
    import subprocess
    import sys
    hub = MessageHub.get_instance('fresh-process')
    hub.update_scalar('train/loss', 2.0)
    path = tmp_path / 'hub.pth'
    torch.save({'message_hub': hub.state_dict()}, path)
    code = ('import mmloc.engine\n'
            'from mmengine.runner.checkpoint import _load_checkpoint\n'
            'mmloc.engine.setup_runtime()\n'
            f'd = _load_checkpoint({str(path)!r})\n'
            "print(d['message_hub']['log_scalars']['train/loss'].mean())\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == '2.0'


def test_threads_loading_at_once_all_get_the_allow_list(tmp_path):
    """torch's safe_globals is one process-wide list that each context restores on exit;
    unguarded, a thread's exit dropped another's allow-list mid-load (found by the 20-point
    kill test, whose trials load checkpoints from two threads)."""
    from concurrent.futures import ThreadPoolExecutor
    buf = HistoryBuffer()
    buf.update(1.0)
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}, 'message_hub': {'loss': buf},
                'meta': {'seed': np.float64(2.0)}}, path)

    def load(_):
        return type(safe_torch_load(str(path))['message_hub']['loss']).__name__
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(load, range(400))) == {'HistoryBuffer'}
