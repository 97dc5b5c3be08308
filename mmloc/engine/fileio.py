"""Crash-safe checkpoint writing for mmengine's Runner."""
from mmengine.fileio.backends import LocalBackend

from mmloc.utils.io import atomic_open


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, writing through a temp file + rename.

    mmengine saves checkpoints with ``open(path, 'wb').write(...)``: a crash (SIGKILL,
    node failure) during the write leaves a truncated ``epoch_N.pth``. Installed for plain
    paths by :func:`mmloc.engine.setup_runtime` (not at import), so every checkpoint the
    Runner of an mmloc tool saves is complete or absent.
    """

    def put(self, obj: bytes, filepath) -> None:
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        with atomic_open(filepath, 'w', encoding=encoding) as f:
            f.write(obj)
