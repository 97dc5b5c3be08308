"""A compiled check that a JSON text repeats no object key: the proof walk of
:func:`mmloc.utils.io.parse_json_unique` for large texts, straight from the bytes.

The Python walk (:func:`mmloc.utils.io.count_json_containers`) visits every dict, list and
string orjson built, ~0.2 us a node: 33 ms of a 1 MB ground-truth file of 5000 videos,
half its reading. This scan reads the bytes once (a few ms), after orjson accepted them
(so they are valid JSON), and hashes each object's keys as written.
"""
from __future__ import annotations

import numpy as np

from .compiled import LazyKernels

#: integer literals of this many digits or more are refused: from 2**64 on orjson reads
#: them as floats, ``json`` as ints (19 digits start below that: refused, only slower)
LONG_INTEGER_DIGITS = 19
#: objects of up to this many keys compare hashes pairwise; larger ones sort them
_PAIRWISE_KEYS = 16

_QUOTE, _BACKSLASH, _COMMA = 34, 92, 44
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY = 123, 125, 91, 93


def _key_hash(buf, start, end):
    """64-bit FNV-1a of ``buf[start:end]`` (uint64 arithmetic wraps)."""
    h = np.uint64(14695981039346656037)
    prime = np.uint64(1099511628211)
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * prime
    return h


def _keys_distinct(hashes, start, end):
    """Whether ``hashes[start:end]`` holds no value twice."""
    n = end - start
    if n <= _PAIRWISE_KEYS:
        for a in range(start, end):
            for b in range(a + 1, end):
                if hashes[a] == hashes[b]:
                    return False
        return True
    ordered = np.sort(hashes[start:end])
    for a in range(n - 1):
        if ordered[a] == ordered[a + 1]:
            return False
    return True


def _unique_keys(buf, max_keys, max_depth, long_digits):
    """1 when no object of the valid JSON text ``buf`` (uint8) repeats a key, nesting stays
    within ``max_depth``, no key holds an escape and no integer literal has ``long_digits``
    digits or more; 0 otherwise (then nothing is proven). ``max_keys``: an upper bound on
    the keys of the text (its ``:`` bytes)."""
    n = buf.shape[0]
    hashes = np.empty(max_keys + 1, np.uint64)
    is_object = np.zeros(max_depth + 2, np.bool_)
    first_key = np.zeros(max_depth + 2, np.int64)   # index of each open object's first key
    depth = 0
    keys = 0
    expect_key = False
    i = 0
    while i < n:
        c = buf[i]
        if c == _QUOTE:
            j = i + 1
            escaped = False
            while buf[j] != _QUOTE:
                if buf[j] == _BACKSLASH:
                    escaped = True
                    j += 2
                else:
                    j += 1
            if expect_key:
                if escaped:          # "a\u0062" is "ab": compare decoded names in Python
                    return 0
                hashes[keys] = _key_hash(buf, i + 1, j)
                keys += 1
                expect_key = False
            i = j + 1
        elif c == _OPEN_OBJECT or c == _OPEN_ARRAY:
            depth += 1
            if depth > max_depth:
                return 0
            is_object[depth] = c == _OPEN_OBJECT
            first_key[depth] = keys
            expect_key = c == _OPEN_OBJECT
            i += 1
        elif c == _CLOSE_OBJECT or c == _CLOSE_ARRAY:
            if is_object[depth]:
                if not _keys_distinct(hashes, first_key[depth], keys):
                    return 0
                keys = first_key[depth]
            depth -= 1
            expect_key = False
            i += 1
        elif c == _COMMA:
            expect_key = is_object[depth]
            i += 1
        elif c == 45 or 48 <= c <= 57:      # '-' or a digit: a number token
            digits = 0
            integer = True
            while i < n:
                c = buf[i]
                if 48 <= c <= 57:
                    digits += 1
                elif c == 46 or c == 101 or c == 69:   # '.', 'e', 'E'
                    integer = False
                elif c != 45 and c != 43:
                    break
                i += 1
            if integer and digits >= long_digits:
                return 0
        else:                               # whitespace, ':', true / false / null
            i += 1
    return 1


_KERNELS = LazyKernels(globals(), kernels=('_unique_keys',),
                       helpers=('_key_hash', '_keys_distinct'), unrefcounted=('_key_hash',))


def keys_proven_unique(raw: bytes, max_depth: int) -> bool | None:
    """Whether the valid JSON text ``raw`` provably repeats no object key (as written: a
    key with an escape is not proven), nests at most ``max_depth`` deep and has no integer
    literal of :data:`LONG_INTEGER_DIGITS` digits or more; None when numba is missing.

    ``raw`` must be text orjson accepted: the scan trusts its syntax. Two distinct keys
    of one object whose 64-bit hashes collide read as a repeat (not proven: the caller's
    slower proof decides), never the other way round.
    """
    kernels = _KERNELS.get()
    if kernels is None:
        return None
    buf = np.frombuffer(raw, np.uint8)
    return bool(kernels[0](buf, raw.count(b':'), max_depth, LONG_INTEGER_DIGITS))
