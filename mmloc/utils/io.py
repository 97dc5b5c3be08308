"""Crash-safe file writing: every file is written to a temp file, then renamed.

A crash therefore never leaves a truncated file that a later step would read as valid.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import tempfile
import tokenize
import zipfile
from typing import IO, Iterator

import numpy as np

from .validation import FormatError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = 'w', **kwargs) -> Iterator[IO]:
    """Open a temp file beside ``path``; on success it replaces ``path`` atomically."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_temp_files(directory: str | os.PathLike, name_glob: str = '*') -> list:
    """Delete the temp files :func:`atomic_open` left for targets matching ``name_glob`` in
    ``directory`` when its process died before the rename (SIGKILL, power loss); returns
    their paths. Only for a directory no other process is writing into at the time."""
    import glob
    pattern = os.path.join(glob.escape(os.fspath(directory)), f'.{name_glob}.*.tmp')
    removed = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    for path in removed:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return removed


def atomic_write_json(path: str | os.PathLike, obj, **json_kwargs) -> None:
    """``json.dump`` ``obj`` to ``path`` atomically (numpy scalars/arrays are converted)."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, default=_json_default, **json_kwargs)


def atomic_savetxt(path: str | os.PathLike, array: np.ndarray, **savetxt_kwargs) -> None:
    """``np.savetxt`` to ``path`` atomically."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        np.savetxt(f, array, **savetxt_kwargs)


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically (``path`` should end in ``.npy``)."""
    with atomic_open(path, 'wb') as f:
        np.save(f, array)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, 'tolist'):  # torch tensors
        return value.tolist()
    raise TypeError(f'Object of type {type(value).__name__} is not JSON serializable')


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (parsing creates no cycles).

    A large JSON file makes ``json.load`` build millions of containers, and every one
    counts towards the collector's next pass over all live objects: on a 50 MB results
    file the passes cost more than the parse itself (docs/benchmarks.md).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_json_file(path: str | os.PathLike, top_level_name: str = 'top-level key'):
    """Read a JSON file with errors that name it; repeated object keys are an error.

    ``json.load`` silently keeps the last of two equal keys, which would drop a video
    listed twice. The check is cheap: each object is built by ``dict()`` in C and its keys
    are looked at only when the dict came out shorter than its list of pairs; the cyclic
    garbage collector is paused while parsing, which makes this reader faster than a plain
    ``json.load`` on large files. Raises ``FileNotFoundError`` or :class:`FormatError` (a
    ``ValueError``, file name first) for anything else: not UTF-8, invalid or truncated,
    nested deeper than Python's recursion limit, an integer literal beyond Python's digit
    limit, repeated keys.
    ``top_level_name`` names the top-level keys in that message (e.g. ``'video id'``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: file not found')
    duplicates: list = []

    def keep_duplicates(pairs):
        # dict() runs in C; the keys are only looked at when two of them collapsed
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append(key)
                seen.add(key)
        return out

    with open(path, 'rb') as f:
        raw = f.read()
    try:
        with _gc_paused():
            data = json.loads(raw.decode('utf-8'), object_pairs_hook=keep_duplicates)
    except UnicodeDecodeError as e:
        raise FormatError(f'{path}: not UTF-8 encoded ({e})') from None
    except json.JSONDecodeError as e:
        raise FormatError(f'{path}: invalid or truncated JSON ({e})') from None
    except RecursionError:
        raise FormatError(f'{path}: JSON nested too deeply to read') from None
    except ValueError as e:   # e.g. an integer literal of more than 4300 digits
        raise FormatError(f'{path}: invalid JSON ({e})') from None
    if duplicates:
        top = sorted({k for k in duplicates if isinstance(data, dict) and k in data})
        what = f'duplicate {top_level_name}(s) {top[:5]}' if top else \
            f'duplicate key(s) {sorted(set(duplicates))[:5]} inside an object'
        raise FormatError(f'{path}: {what}: each key must appear once (JSON readers silently '
                         'keep only the last one)')
    return data


#: what ``np.load`` raises on corrupt bytes: numpy parses the header with ``tokenize`` and
#: ``ast.literal_eval`` (TokenError, SyntaxError, TypeError, RecursionError) and allocates the
#: declared shape (MemoryError, OverflowError for a huge one); a zip is opened lazily
NPY_READ_ERRORS = (ValueError, OSError, EOFError, SyntaxError, TypeError, MemoryError,
                   OverflowError, RecursionError, tokenize.TokenError, zipfile.BadZipFile)


def load_npy(path: str | os.PathLike, what: str = 'array', mmap: bool = False) -> np.ndarray:
    """``np.load`` of one ``.npy`` array without pickles; anything else is a
    :class:`FormatError` naming the file (an ``.npz`` archive, a pickle, a truncated file, a
    header numpy cannot parse, a shape larger than the file).

    ``mmap``: memory-map instead of reading (``feature_length`` only needs the shape).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} file not found')
    try:
        array = np.load(path, mmap_mode='r' if mmap else None, allow_pickle=False)
    except NPY_READ_ERRORS as e:
        raise FormatError(f'{path}: cannot read the {what} .npy file ({type(e).__name__}: '
                          f'{e})') from None
    if not isinstance(array, np.ndarray):   # np.load opened a .npz archive
        array.close()
        raise FormatError(f'{path}: expected one .npy {what} array, got an .npz archive')
    return array


def read_utf8_text(path: str | os.PathLike, what: str = '') -> str:
    """The whole text of a UTF-8 file; a missing file is a ``FileNotFoundError`` and bytes
    that are not UTF-8 a :class:`FormatError`, both naming the file (and ``what`` it is)."""
    path = os.fspath(path)
    label = f'{what} file' if what else 'file'
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {label} not found')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise FormatError(f'{path}: {label} is not UTF-8 encoded ({e})') from None
