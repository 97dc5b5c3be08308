"""Crash-safe file writing: every file is written to a temp file, then renamed.

A crash therefore never leaves a truncated file that a later step would read as valid.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import sys
import tempfile
import tokenize
import zipfile
from typing import IO, Iterator

import numpy as np

from .validation import FormatError

try:   # optional: a C parser about 3x faster than json's; json decides whenever it is absent
    import orjson
except ImportError:   # pragma: no cover (a runtime requirement, see requirements/runtime.txt)
    orjson = None


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
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (parsing creates no cycles; a no-op inside a
    caller's pause).

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


def collector_paused(fn):
    """Decorate ``fn`` to run with the cyclic garbage collector paused (:func:`gc_paused`;
    for readers and loaders, which create no cycles).

    A large file makes tens of thousands of dicts and lists, built and freed inside ``fn``;
    with the collector running, each of its passes walks every object of the process
    again (~90 ms of 0.29 s loading a 50 MB detection file in a process that imported torch).
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with gc_paused():
            return fn(*args, **kwargs)   # fn's frame, and what it built, are gone on return
    return wrapper


#: deepest nesting the fast reader accepts (ActivityNet files nest 6 deep); deeper files
#: go to ``json``, whose recursion limit then decides as before
FAST_JSON_MAX_DEPTH = 100
#: what :func:`parse_json_unique` returns when it cannot prove its reading
UNPROVEN = object()
#: orjson reads an integer literal outside [-2**63, 2**64) as a float (``json``: an int),
#: and no other value gives a float of this magnitude from an integer
_BIG_FLOAT = float(2 ** 63)


def json_syntax_counts(raw: bytes) -> tuple[int, int]:
    r"""``(b':' bytes, b'[' bytes)`` of a JSON text, at C speed.

    In valid UTF-8 these bytes encode only ``:`` and ``[``; outside strings JSON writes
    one ``:`` per object member and one ``[`` per array, inside strings they may appear
    literally (an escaped ``\u003a`` is no ``:`` byte, and no syntax either). So the counts
    are upper bounds of (members of all objects, arrays): see :func:`parse_json_unique`.
    """
    return raw.count(b':'), raw.count(b'[')


def count_json_containers(value, max_depth: int = FAST_JSON_MAX_DEPTH):
    """``(keys of every dict, number of lists, ':' and '[' characters in every key and
    string value)`` of a parsed JSON value, each container counted once; None when it
    nests deeper than ``max_depth`` or holds a float of magnitude >= 2**63 (what orjson
    makes of an integer literal beyond 64 bits).

    The generic proof walk of :func:`parse_json_unique` (Python speed: for small files,
    or layouts without a specialised walk).
    """
    keys = lists = 0
    strings: list = []
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return None
        if type(node) is dict:
            keys += len(node)
            strings.extend(node)
            children = node.values()
        else:
            lists += 1
            children = node
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is str:
                strings.append(child)
            elif kind is float and not -_BIG_FLOAT < child < _BIG_FLOAT:
                return None
    text = ''.join(strings)
    return keys, lists, text.count(':'), text.count('[')


def _has_escape(raw: bytes, code: bytes) -> bool:
    """Whether ``raw`` holds the ``\\u00XX`` escape of one character (``code``: its two
    hex digits, lower case; JSON allows either case)."""
    return b'\\u00' + code in raw or b'\\u00' + code.upper() in raw


#: texts from this size on are proven by the compiled key scan (:mod:`.json_keys`) even
#: when numba is not imported yet: its import (~0.4 s) is what the Python walk takes on
#: ~12 MB; smaller texts use the scan once numba is loaded anyway
COMPILED_PROOF_ABOVE_BYTES = 12 * 2 ** 20
#: below this size the Python walk takes a few ms at most: not worth loading the scan for
COMPILED_PROOF_MIN_BYTES = 64 * 2 ** 10


def _compiled_proof_wanted(raw: bytes) -> bool:
    return len(raw) >= COMPILED_PROOF_ABOVE_BYTES or (
        len(raw) >= COMPILED_PROOF_MIN_BYTES and 'numba' in sys.modules)


def parse_json_unique(raw: bytes, count=count_json_containers, compiled: bool | None = None):
    r"""``raw`` parsed by orjson when that provably equals the strict ``json`` reading
    (no repeated key, same values); :data:`UNPROVEN` when it cannot be proven (orjson
    missing or refusing the text, a repeated key, a ``:`` or ``[`` inside a string, ...), and the
    caller then parses with ``json`` and its duplicate check (same result or error as
    ever, only slower).

    ``count(data)``: ``(n_keys, n_lists, n_colons, n_brackets)`` of a subset of the
    parsed containers, each counted once (its keys, its lists, the ``:`` and ``[``
    characters of the keys and string values it looked at), or None; None also when it
    meets a float of magnitude >= 2**63 in what it visits, or nesting beyond
    :data:`FAST_JSON_MAX_DEPTH`. Default :func:`count_json_containers` (all of them).

    Why equality with :func:`json_syntax_counts` proves it. orjson accepts only valid
    UTF-8, RFC 8259 JSON (it refuses NaN/Infinity, lone surrogate escapes, a BOM, control
    characters, an infinite number), all of which ``json`` also reads. Let an object with
    ``p`` members give a dict of ``k <= p`` keys, ``k == p`` exactly when no name repeats
    (names compared decoded, by both parsers: ``"a\u003ab"`` repeats ``"a:b"``). With
    ``P`` members and ``A`` arrays in the text, ``S`` the ``:`` and ``T`` the ``[`` bytes
    inside strings, ``K`` and ``L`` the keys and lists in the whole tree, ``K_w``, ``L_w``
    those the walk counted and ``S_w``, ``T_w`` the ``:`` and ``[`` it counted in strings:

        K_w + S_w <= K + S <= P + S = colons,    L_w + T_w <= L + T = A + T = brackets.

    ``S_w <= S`` holds because each visited string is the decoding of its own string
    token, and a ``:`` in it is a ``:`` byte of that token -- unless it was written
    ``\u003a``: so ``S_w > 0`` is only credited when the text holds no such escape (same
    for ``[`` and ``\u005b``); a string a repeated name dropped is not in the tree at all.
    Equality at both ends makes every step an equality: no name repeats anywhere (so the
    strict reader would have raised nothing), and every dict and list was visited (so
    none nests deeper than the walk allows, where ``json`` could hit its recursion limit,
    and no visited float reached 2**63). The values then agree: strings decode alike,
    both parsers round decimal numbers correctly, and integers inside [-2**63, 2**64) are
    ints in both; outside it orjson gives a float >= 2**63 in magnitude, which the walk
    refuses (a genuine float that large is refused too: only slower). Numbers are no
    containers and escape the counts: a specialised ``count`` that counts a list or a
    dict without looking at its values must check those values itself (types, 2**63).

    ``compiled``: with the default ``count``, first try the compiled scan of the bytes
    (:func:`~.json_keys.keys_proven_unique`: every object's keys distinct as written, no
    integer literal beyond 18 digits, nesting within the limit, which proves the same
    equality) and walk only when it proves nothing; None: for texts where that pays
    (:data:`COMPILED_PROOF_MIN_BYTES`, :data:`COMPILED_PROOF_ABOVE_BYTES`).
    """
    if orjson is None:
        return UNPROVEN
    try:
        data = orjson.loads(raw)
    except Exception:   # noqa: BLE001 (any refusal: json decides, with its own message)
        return UNPROVEN
    if isinstance(data, (dict, list)) and count is count_json_containers and (
            compiled or compiled is None and _compiled_proof_wanted(raw)):
        from .json_keys import keys_proven_unique
        if keys_proven_unique(raw, FAST_JSON_MAX_DEPTH):
            return data
    if isinstance(data, (dict, list)):
        counts = count(data)
    elif type(data) is float and not -_BIG_FLOAT < data < _BIG_FLOAT:
        counts = None
    else:   # a bare scalar
        counts = (0, 0) + ((data.count(':'), data.count('[')) if type(data) is str else (0, 0))
    if counts is None:
        return UNPROVEN
    keys, lists, colons, brackets = counts
    if (colons and _has_escape(raw, b'3a')) or (brackets and _has_escape(raw, b'5b')):
        return UNPROVEN
    if (keys + colons, lists + brackets) != json_syntax_counts(raw):
        return UNPROVEN
    return data


def load_json_file(path: str | os.PathLike, top_level_name: str = 'top-level key',
                   count=count_json_containers):
    """Read a JSON file with errors that name it; repeated object keys are an error.

    ``json.load`` silently keeps the last of two equal keys, which would drop a video
    listed twice. Fast path: orjson parses without any hook, and counting keys and lists
    against the ``:`` and ``[`` bytes of the text proves no key repeats
    (:func:`parse_json_unique`; ``count`` is its walk, a reader may pass one specialised
    for its layout). Whenever that is not proven the text goes through ``json`` with a
    duplicate check: each object is built by ``dict()`` in C and its keys are looked at
    only when the dict came out shorter than its list of pairs. The cyclic garbage
    collector is paused while parsing. Raises ``FileNotFoundError`` or
    :class:`FormatError` (a ``ValueError``, file name first) for anything else: not
    UTF-8, invalid or truncated, nested deeper than Python's recursion limit, an integer
    literal beyond Python's digit limit, repeated keys.
    ``top_level_name`` names the top-level keys in that message (e.g. ``'video id'``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: file not found')
    with open(path, 'rb') as f:
        raw = f.read()
    with gc_paused():
        data = parse_json_unique(raw, count)
    if data is not UNPROVEN:
        return data
    return _load_json_strict(raw, path, top_level_name)


def _load_json_strict(raw: bytes, path: str, top_level_name: str):
    """``json.loads`` of ``raw`` with the repeated-key check (the reference reading)."""
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

    try:
        with gc_paused():
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
