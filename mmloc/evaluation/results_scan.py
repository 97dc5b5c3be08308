"""A compiled reader of plain results files: the bytes straight to columns, no JSON tree.

A detection results file of 5000 videos x 100 items is ~50 MB of
``{"label": ..., "segment": [s, e], "score": x}`` items. Parsing it into Python objects
(500k dicts, 1.5M floats) and gathering the columns back costs ~0.7 s; scanning the bytes
once, compiled, costs a few tens of milliseconds. :func:`scan_results_file` does that for
the layout every results writer produces, and declines (returns None) on anything else, so
the reader then takes its JSON path, which decides and names any error:

* the top level an object with a ``"results"`` object of ``video id: [items]``; its other
  members (``version``, ``external_data``, ...) are any JSON, checked by the strict reader
  (:func:`mmloc.utils.io.parse_json_unique`) on their own bytes;
* items ``{"segment": [s, e], "score": x}`` with or without ``"label": name`` (the same in
  every item), fields in any order, each once;
* strings without backslash escapes or control characters (non-ASCII UTF-8 is decoded and
  checked by Python); numbers of at most 19 significant digits (Python's ``repr`` writes at
  most 17) with an exponent in ``[-342, 308]``, not subnormal, of magnitude < 2**63, and
  segments with ``start <= end``; JSON whitespace; nothing after the top-level object.

Numbers are converted as ``json`` + ``float64`` convert them, correctly rounded, by the
Eisel-Lemire algorithm (D. Lemire, "Number parsing at a gigabyte per second", 2021, with
N. Mushtak's proof that the 128-bit product needs no fallback for 19 digits): a 64-bit
decimal significand times a 128-bit truncated power of five. An integer literal is
``json``'s int, so ``-0`` is ``0.0``. ``tests/evaluation/test_results_scan.py`` checks the
bits against Python's ``float`` on millions of numbers.
"""
from __future__ import annotations

import mmap
import os
import re
import threading

import numpy as np

from mmloc.utils.compiled import LazyKernels

# ----------------------------------------------------------------------------- numbers
#: the exponent range of :data:`_POW5_HI` / :data:`_POW5_LO` (binary64's decimal range)
SMALLEST_POWER10, LARGEST_POWER10 = -342, 308
#: most significant digits a 64-bit significand holds exactly (10**19 < 2**64)
MAX_DIGITS = 19


def power5_table() -> tuple[np.ndarray, np.ndarray]:
    """``(hi, lo)`` uint64 words of 5**q (q in ``[-342, 308]``) normalised to 128 bits,
    most significant bit set: truncated for q >= 0 and q < -27, rounded up for
    -27 <= q < 0 (Lemire 2021, §5)."""
    hi, lo = [], []
    mask = (1 << 64) - 1
    for q in range(SMALLEST_POWER10, LARGEST_POWER10 + 1):
        if q >= 0:
            p = 5 ** q
            v = p << (128 - p.bit_length()) if p.bit_length() <= 128 \
                else p >> (p.bit_length() - 128)
        else:
            p = 5 ** -q
            z = p.bit_length()     # 2**(z-1) < p < 2**z
            b = z + 127 if q >= -27 else 2 * z + 128
            v = (1 << b) // p + 1
            v >>= max(0, v.bit_length() - 128)
        hi.append(v >> 64)
        lo.append(v & mask)
    return np.array(hi, np.uint64), np.array(lo, np.uint64)


_POW5_HI, _POW5_LO = power5_table()
_M32 = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)
_U1 = np.uint64(1)
_U0 = np.uint64(0)
_PRECISION_MASK = np.uint64(0x1FF)          # the 64 - 55 low bits of the product's high word
_HIDDEN = np.uint64(1 << 52)
_SIGN = np.uint64(1 << 63)


def _mul128(a, b):
    # (high, low) words of the 128-bit product of two uint64
    a0, a1 = a & _M32, a >> _U32
    b0, b1 = b & _M32, b >> _U32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _U32) + (p01 & _M32) + (p10 & _M32)
    low = (p00 & _M32) | (mid << _U32)
    high = p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)
    return high, low


def _leading_zeros(w):
    # of a non-zero uint64
    n = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if w >> np.uint64(64 - shift) == _U0:
            w = w << np.uint64(shift)
            n += shift
    return n


def _decimal_bits(w, q):
    """The binary64 bits nearest ``w * 10**q`` (``w`` a non-zero uint64 of at most 19
    digits), or 0 when out of the normal range (the caller then declines)."""
    if q < SMALLEST_POWER10 or q > LARGEST_POWER10:
        return _U0
    lz = _leading_zeros(w)
    w = w << np.uint64(lz)
    i = q - SMALLEST_POWER10
    high, low = _mul128(w, _POW5_HI[i])
    if high & _PRECISION_MASK == _PRECISION_MASK:   # the next 64 bits may carry into these
        high2, _ = _mul128(w, _POW5_LO[i])
        low = low + high2
        if high2 > low:
            high = high + _U1
    upper = high >> np.uint64(63)
    shift = np.uint64(upper + np.uint64(9))
    mantissa = high >> shift
    power2 = (((152170 + 65536) * q) >> 16) + 63 + int(upper) - lz + 1023
    if power2 <= 0:                                  # subnormal or zero
        return _U0
    # an exact halfway case rounds to even (only 10**q of -4 <= q <= 23 can be exact)
    if low <= _U1 and -4 <= q <= 23 and mantissa & np.uint64(3) == _U1 \
            and (mantissa << shift) == high:
        mantissa = mantissa & ~_U1
    mantissa = (mantissa + (mantissa & _U1)) >> _U1
    if mantissa >= np.uint64(2 << 52):
        mantissa = _HIDDEN
        power2 += 1
    if power2 >= 0x7FF:                              # overflow
        return _U0
    return (mantissa & ~_HIDDEN) | (np.uint64(power2) << np.uint64(52))


# ----------------------------------------------------------------------------- bytes
_QUOTE, _BACKSLASH, _COLON, _COMMA = 34, 92, 58, 44
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = 123, 125, 91, 93
#: FNV-1a, in int64 arithmetic (wrapping) so that the hash sits in the labels' int64 rows
_FNV_OFFSET, _FNV_PRIME = np.int64(0xCBF29CE484222325 - (1 << 64)), np.int64(0x100000001B3)


def _skip_ws(buf, i):
    n = buf.shape[0]
    while i < n:
        c = buf[i]
        if c != 32 and c != 10 and c != 13 and c != 9:
            break
        i += 1
    return i


def _string_end(buf, i, hashed):
    """(index after the closing quote, FNV-1a hash of the content when ``hashed``, else 0)
    of the string whose opening quote is at ``i``; index -1 for an escape, a control
    character or no end."""
    n = buf.shape[0]
    h = _FNV_OFFSET if hashed else np.int64(0)
    i += 1
    while i < n:
        c = buf[i]
        if c == _QUOTE:
            return i + 1, h
        if c == _BACKSLASH or c < 32:
            return -1, h
        if hashed:
            h = (h ^ np.int64(c)) * _FNV_PRIME
        i += 1
    return -1, h


_ZEROS = np.uint64(0x3030303030303030)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)
_PAIR_MASK = np.uint64(0x000000FF000000FF)
_MUL_HIGH = np.uint64(100 + (1000000 << 32))
_MUL_LOW = np.uint64(1 + (10000 << 32))


def _digits(buf, i, w):
    """(index after the run of decimal digits at ``i``, ``w`` extended by them (wrapping
    beyond 19 digits), how many): eight at a time as one little-endian word (the SWAR
    test and value of simdjson / fast_float), then one by one."""
    n = buf.shape[0]
    start = i
    while i + 8 <= n:
        x = _U0
        for k in range(7, -1, -1):
            x = (x << np.uint64(8)) | np.uint64(buf[i + k])
        if ((x & _HIGH_NIBBLES) | (((x + _SIXES) & _HIGH_NIBBLES) >> np.uint64(4))) != _THREES:
            break
        x = x - _ZEROS
        x = x * np.uint64(10) + (x >> np.uint64(8))
        x = ((x & _PAIR_MASK) * _MUL_HIGH + ((x >> np.uint64(16)) & _PAIR_MASK) * _MUL_LOW) \
            >> np.uint64(32)
        w = w * np.uint64(100000000) + (x & _M32)
        i += 8
    while i < n and 48 <= buf[i] <= 57:
        w = w * np.uint64(10) + np.uint64(buf[i] - 48)
        i += 1
    return i, w, i - start


def _number(buf, i):
    """(index after the number at ``i``, its float64 bits); index -1 to decline."""
    n = buf.shape[0]
    negative = i < n and buf[i] == 45
    if negative:
        i += 1
    if i >= n or not 48 <= buf[i] <= 57:
        return -1, _U0
    w = _U0
    digits = 0
    q = 0
    if buf[i] == 48:
        i += 1
        if i < n and 48 <= buf[i] <= 57:            # a leading zero
            return -1, _U0
    else:
        i, w, digits = _digits(buf, i, w)
    integer = True
    if i < n and buf[i] == 46:                       # fraction
        integer = False
        i += 1
        start = i
        if digits == 0:                              # leading zeros are no digits
            while i < n and buf[i] == 48:
                i += 1
        i, w, more = _digits(buf, i, w)
        digits += more
        q -= i - start
        if i == start:
            return -1, _U0
    if digits > MAX_DIGITS:
        return -1, _U0
    if i < n and (buf[i] == 101 or buf[i] == 69):    # exponent
        integer = False
        i += 1
        sign = 1
        if i < n and (buf[i] == 43 or buf[i] == 45):
            sign = -1 if buf[i] == 45 else 1
            i += 1
        start = i
        e = 0
        while i < n and 48 <= buf[i] <= 57:
            if e < 100000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        if i == start:
            return -1, _U0
        q += sign * e
    if w == _U0:                                     # json: -0 is the int 0, -0.0 a float
        return i, (_SIGN if negative and not integer else _U0)
    bits = _decimal_bits(w, q)
    if bits == _U0:
        return -1, _U0
    return i, (bits | _SIGN) if negative else bits


def _is_key(buf, a, b, key):
    # whether buf[a:b] (a string's content) equals the bytes ``key``
    if b - a != key.shape[0]:
        return False
    for k in range(key.shape[0]):
        if buf[a + k] != key[k]:
            return False
    return True


def _value_end(buf, i):
    """Index after the JSON value at ``i`` when well nested (the strict reader checks the
    value's bytes later), -1 when it is not."""
    n = buf.shape[0]
    c = buf[i]
    if c != _LBRACE and c != _LBRACKET:
        # a scalar: up to the next structural byte or whitespace
        if c == _QUOTE:
            while True:
                i += 1
                if i >= n:
                    return -1
                if buf[i] == _BACKSLASH:
                    i += 1
                elif buf[i] == _QUOTE:
                    return i + 1
        while i < n and buf[i] != _COMMA and buf[i] != _RBRACE and buf[i] != _RBRACKET \
                and buf[i] != 32 and buf[i] != 10 and buf[i] != 13 and buf[i] != 9:
            i += 1
        return i
    depth = 0
    in_string = False
    while i < n:
        c = buf[i]
        if in_string:
            if c == _BACKSLASH:
                i += 1
            elif c == _QUOTE:
                in_string = False
        elif c == _QUOTE:
            in_string = True
        elif c == _LBRACE or c == _LBRACKET:
            depth += 1
        elif c == _RBRACE or c == _RBRACKET:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _member(buf, i):
    """(key start, key end, index of the value) of the object member whose key's opening
    quote is at ``i``, after ``"key"``, whitespace and ``:``; value index -1 to decline."""
    n = buf.shape[0]
    if i >= n or buf[i] != _QUOTE:
        return 0, 0, -1
    a = i + 1
    i, _ = _string_end(buf, i, False)
    if i < 0:
        return 0, 0, -1
    b = i - 1
    i = _skip_ws(buf, i)
    if i >= n or buf[i] != _COLON:
        return 0, 0, -1
    i = _skip_ws(buf, i + 1)
    return a, b, (i if i < n else -1)


def _grown(a, size):
    # ``a`` (rows, k) with room for at least ``size`` rows
    out = np.empty((max(size, 2 * a.shape[0]), a.shape[1]), a.dtype)
    out[:a.shape[0]] = a
    return out


#: fields of an item, as bit flags
_SEGMENT, _SCORE, _LABEL = 1, 2, 4


def _item(buf, i, key_segment, key_score, key_label, row, values, labels):
    """Scan the item object at ``i`` into row ``row``; (index after it, field flags),
    index -1 to decline."""
    i = _skip_ws(buf, i + 1)
    flags = 0
    while True:
        a, b, i = _member(buf, i)
        if i < 0:
            return -1, 0
        if _is_key(buf, a, b, key_segment) and not flags & _SEGMENT:
            flags |= _SEGMENT
            if buf[i] != _LBRACKET:
                return -1, 0
            i, start = _number(buf, _skip_ws(buf, i + 1))
            if i < 0:
                return -1, 0
            i = _skip_ws(buf, i)
            if i >= buf.shape[0] or buf[i] != _COMMA:
                return -1, 0
            i, end = _number(buf, _skip_ws(buf, i + 1))
            if i < 0:
                return -1, 0
            values[row, 0] = start
            values[row, 1] = end
            i = _skip_ws(buf, i)
            if i >= buf.shape[0] or buf[i] != _RBRACKET:
                return -1, 0
            i += 1
        elif _is_key(buf, a, b, key_score) and not flags & _SCORE:
            flags |= _SCORE
            i, score = _number(buf, i)
            if i < 0:
                return -1, 0
            values[row, 2] = score
        elif _is_key(buf, a, b, key_label) and not flags & _LABEL:
            flags |= _LABEL
            if buf[i] != _QUOTE:
                return -1, 0
            labels[row, 0] = i + 1
            i, labels[row, 2] = _string_end(buf, i, True)
            if i < 0:
                return -1, 0
            labels[row, 1] = i - 1
        else:                                        # another field, or one repeated
            return -1, 0
        i = _skip_ws(buf, i)
        if i >= buf.shape[0]:
            return -1, 0
        if buf[i] == _RBRACE:
            return i + 1, flags
        if buf[i] != _COMMA:
            return -1, 0
        i = _skip_ws(buf, i + 1)
        if i >= buf.shape[0]:
            return -1, 0


def _results(buf, i, resume, stop, key_segment, key_score, key_label, values, labels,
             videos):
    """Scan the ``"results"`` object whose ``{`` is at ``i`` (``resume``: from the video key
    at ``i`` inside it): (index after it, items, videos, field flags of every item, the
    arrays, grown as needed); index -1 to decline, ``stop`` when the comma after a video
    list is there (the rest is another scan's)."""
    n = buf.shape[0]
    rows = 0
    n_videos = 0
    all_flags = -1
    if not resume:
        i = _skip_ws(buf, i + 1)
        if i < n and buf[i] == _RBRACE:              # empty: the reader names it
            return -1, rows, n_videos, all_flags, values, labels, videos
    while i < n:
        a, b, i = _member(buf, i)
        if i < 0 or buf[i] != _LBRACKET:
            break
        if n_videos == videos.shape[0]:
            videos = _grown(videos, n_videos + 1)
        videos[n_videos, 0] = a
        videos[n_videos, 1] = b
        first = rows
        i = _skip_ws(buf, i + 1)
        ok = i < n
        if ok and buf[i] != _RBRACKET:
            while True:
                if i >= n or buf[i] != _LBRACE:
                    ok = False
                    break
                if rows == values.shape[0]:
                    values = _grown(values, rows + 1)
                    labels = _grown(labels, rows + 1)
                i, flags = _item(buf, i, key_segment, key_score, key_label, rows, values,
                                 labels)
                if i < 0 or (all_flags >= 0 and flags != all_flags):
                    ok = False
                    break
                all_flags = flags
                rows += 1
                i = _skip_ws(buf, i)
                if i < n and buf[i] == _COMMA:
                    i = _skip_ws(buf, i + 1)
                    continue
                break
        if not ok or i >= n or buf[i] != _RBRACKET:
            break
        videos[n_videos, 2] = rows - first
        n_videos += 1
        i = _skip_ws(buf, i + 1)
        if i < n and buf[i] == _RBRACE:
            return i + 1, rows, n_videos, all_flags, values, labels, videos
        if i >= n or buf[i] != _COMMA:
            break
        if i == stop:
            return i, rows, n_videos, all_flags, values, labels, videos
        i = _skip_ws(buf, i + 1)
    return -1, rows, n_videos, all_flags, values, labels, videos


#: what :func:`_scan` reports
_DECLINED, _COMPLETE, _STOPPED = 0, 1, 2


def _scan(buf, key_results, key_segment, key_score, key_label, values, labels, videos,
          members, start, stop):
    """The file from its top level (``start`` 0), or from the video key at ``start`` inside
    ``"results"`` to the end: (status, items, videos, field flags, members, the arrays).
    Status :data:`_STOPPED` when the comma after a video list is at ``stop`` (the rest is
    another scan's), :data:`_COMPLETE` at the end of a valid file, else :data:`_DECLINED`.
    ``members[k]``: (key start, key end, value start, value end) of the top-level members
    other than ``"results"``."""
    n = buf.shape[0]
    rows = n_videos = n_members = 0
    flags = -1
    seen_results = start > 0
    if start > 0:
        i, rows, n_videos, flags, values, labels, videos = _results(
            buf, start, True, -1, key_segment, key_score, key_label, values, labels, videos)
    else:
        i = _skip_ws(buf, 0)
        if i >= n or buf[i] != _LBRACE:
            return _DECLINED, rows, n_videos, flags, n_members, values, labels, videos
        i = _skip_ws(buf, i + 1)
    after_member = start > 0
    while i >= 0:
        if not after_member:                         # a member at i
            a, b, i = _member(buf, i)
            if i < 0:
                break
            if _is_key(buf, a, b, key_results) and not seen_results:
                seen_results = True
                if buf[i] != _LBRACE:
                    break
                i, rows, n_videos, flags, values, labels, videos = _results(
                    buf, i, False, stop, key_segment, key_score, key_label, values, labels,
                    videos)
                if i >= 0 and i == stop:
                    return _STOPPED, rows, n_videos, flags, n_members, values, labels, videos
            else:
                if n_members == members.shape[0]:
                    break
                members[n_members, 0] = a
                members[n_members, 1] = b
                members[n_members, 2] = i
                i = _value_end(buf, i)
                members[n_members, 3] = i
                n_members += 1
            if i < 0:
                break
        after_member = False
        i = _skip_ws(buf, i)
        if i < n and buf[i] == _RBRACE:
            status = _COMPLETE if seen_results and _skip_ws(buf, i + 1) == n else _DECLINED
            return status, rows, n_videos, flags, n_members, values, labels, videos
        if i >= n or buf[i] != _COMMA:
            break
        i = _skip_ws(buf, i + 1)
    return _DECLINED, rows, n_videos, flags, n_members, values, labels, videos


#: slots of :func:`_label_codes`' table; half of them is the most distinct labels it takes
_LABEL_SLOTS = 1 << 16


def _label_codes(buf, labels):
    """(codes (N,), first rows (K,)): each label's number among the distinct ones in order
    of first appearance, and the row of each first appearance; K = -1 when more than half
    of :data:`_LABEL_SLOTS` are distinct. Rows with one hash are compared byte for byte,
    so a collision of hashes gives no wrong code."""
    n = labels.shape[0]
    mask = _LABEL_SLOTS - 1
    table = np.full(_LABEL_SLOTS, -1, np.int64)      # slot -> code
    first = np.empty(_LABEL_SLOTS // 2, np.int64)    # code -> its first row
    codes = np.empty(n, np.int64)
    k = 0
    for row in range(n):
        a, b, h = labels[row, 0], labels[row, 1], labels[row, 2]
        slot = h & mask
        while True:
            code = table[slot]
            if code < 0:                             # a new label
                if k == first.shape[0]:
                    return codes, first[:0], -1
                table[slot] = k
                first[k] = row
                code = k
                k += 1
                break
            other = first[code]
            c, d = labels[other, 0], labels[other, 1]
            if labels[other, 2] == h and d - c == b - a:
                same = True
                for j in range(b - a):
                    if buf[a + j] != buf[c + j]:
                        same = False
                        break
                if same:
                    break
            slot = (slot + 1) & mask
        codes[row] = code
    return codes, first[:k].copy(), k


_KERNELS = LazyKernels(globals(), kernels=('_scan', '_label_codes'),
                       helpers=('_mul128', '_leading_zeros', '_decimal_bits', '_digits', '_skip_ws',
                                '_string_end', '_number', '_is_key', '_member', '_value_end',
                                '_grown', '_item', '_results'),
                       unrefcounted=('_digits', '_skip_ws', '_string_end', '_number', '_is_key',
                                     '_member', '_value_end', '_item'))


#: largest magnitude a plain number may have: beyond it a float may be orjson's reading of
#: an integer literal (:func:`mmloc.utils.io.parse_json_unique`)
_BIG_NUMBER = float(2 ** 63)


def plain_numbers(segments: np.ndarray, scores: np.ndarray) -> bool:
    """Whether ``segments`` (N, 2) and ``scores`` (N,) are all of magnitude < 2**63 (so
    finite) with ``start <= end``: what the readers' column paths take (else the per-item
    checks decide, and name the item)."""
    return bool((np.abs(segments) < _BIG_NUMBER).all() and (np.abs(scores) < _BIG_NUMBER).all()
                and (segments[:, 1] >= segments[:, 0]).all())


def _key(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), np.uint8)


#: files above this size are scanned in two halves on two threads (when two CPUs are ours)
PARALLEL_ABOVE_BYTES = 4 << 20
#: where a video's list ends and the next video's begins: ``], "id": [`` (an item's
#: ``], "score"`` is followed by no ``[``); the first half's own scan confirms it
_VIDEO_BOUNDARY = re.compile(rb'\][ \t\r\n]*(,)[ \t\r\n]*("[^"\\]*"[ \t\r\n]*:[ \t\r\n]*\[)')


def _scan_part(scan, buf, size: int, start: int, stop: int) -> tuple:
    """One :func:`_scan` from ``start`` (to ``stop``) over about ``size`` bytes: (status,
    field flags, values (N, 3) uint64 bits, labels (N, 3), videos (V, 3), members (K, 4))."""
    guess = max(16, size // 100)                      # items are ~100 bytes; grown as needed
    members = np.empty((64, 4), np.int64)
    status, rows, n_videos, flags, n_members, values, labels, videos = scan(
        buf, _key('results'), _key('segment'), _key('score'), _key('label'),
        np.empty((guess, 3), np.uint64), np.empty((guess, 3), np.int64),
        np.empty((max(16, guess // 50), 3), np.int64), members, start, stop)
    return status, flags, values[:rows], labels[:rows], videos[:n_videos], members[:n_members]


def _free_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                            # not on Linux
        return os.cpu_count() or 1


def _scan_columns(scan, buf, raw):
    """(field flags, values, labels, videos, members) of the whole file, or None: a large
    file in two halves at a video boundary after its middle, scanned at once on two threads
    (the kernels release the GIL); when the first half does not end exactly there, the
    whole file in one scan."""
    boundary = None
    if len(raw) > PARALLEL_ABOVE_BYTES and _free_cpus() > 1:
        boundary = _VIDEO_BOUNDARY.search(raw, len(raw) // 2)
    if boundary is not None:
        comma, key = boundary.start(1), boundary.start(2)
        second: dict = {}
        thread = threading.Thread(target=lambda: second.update(
            part=_scan_part(scan, buf, len(raw) - key, key, -1)), daemon=True)
        thread.start()
        first = _scan_part(scan, buf, comma, 0, comma)
        thread.join()
        last = second.get('part')
        if first[0] == _STOPPED and last is not None and last[0] == _COMPLETE:
            if first[1] >= 0 and last[1] >= 0 and first[1] != last[1]:
                return None                           # items with other fields
            return (max(first[1], last[1]),) + tuple(
                np.concatenate([a, b]) for a, b in zip(first[2:], last[2:]))
    whole = _scan_part(scan, buf, len(raw), 0, -1)
    return whole[1:] if whole[0] == _COMPLETE else None


def scan_results_bytes(raw):
    """Columns of a plain results file's bytes (``bytes`` or a memory map; see the module
    docstring), or None.

    Returns ``dict(vids [str] * V, sizes (V,) int64, segments (N, 2) float64,
    scores (N,) float64, labels [str] * N or None, label_codes (N,) int64 or None,
    label_names [str] * K or None)``: items in file order, ids as written,
    ``labels[i] == label_names[label_codes[i]]`` (distinct labels in order of first
    appearance).
    None when numba is missing, or the text is anything but that layout (or not valid
    JSON, or has a repeated key): the JSON reader then decides.
    """
    kernels = _KERNELS.get()
    if kernels is None or not raw:
        return None
    scan, label_codes = kernels
    from mmloc.utils.io import UNPROVEN, parse_json_unique
    buf = np.frombuffer(raw, np.uint8)
    try:
        scanned = _scan_columns(scan, buf, raw)
        if scanned is None:
            return None
        flags, values, labels, videos, members = scanned
        rows = values.shape[0]
        if not rows or not flags & _SEGMENT or not flags & _SCORE:
            return None
        codes = first = None
        if flags & _LABEL:
            codes, first, k = label_codes(buf, labels)
            if k < 0:
                return None
    finally:
        del buf          # ``raw`` may be a memory map, closed once this returns
    try:
        vids = [raw[a:b].decode() for a, b in videos[:, :2].tolist()]
        keys = ['results'] + [raw[a:b].decode() for a, b in members[:, :2].tolist()]
        label_names = names = None
        if codes is not None:
            names = [raw[a:b].decode() for a, b in labels[first, :2].tolist()]
            label_names = np.array(names, object)[codes].tolist()
    except UnicodeDecodeError:
        return None
    if len(set(vids)) != len(vids) or len(set(keys)) != len(keys):
        return None
    for _, _, a, b in members.tolist():                 # version, external_data, ...
        if parse_json_unique(raw[a:b]) is UNPROVEN:
            return None
    values = values.view(np.float64)
    if not plain_numbers(values[:, :2], values[:, 2]):
        return None
    return dict(vids=vids, sizes=videos[:, 2].copy(), segments=values[:, :2].copy(),
                scores=values[:, 2].copy(), labels=label_names, label_codes=codes,
                label_names=names)


def scan_results_file(path):
    """:func:`scan_results_bytes` of a file (memory-mapped: no copy of its bytes), or None
    (also when it is not a file, or empty)."""
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return None
    with open(path, 'rb') as f:
        if os.fstat(f.fileno()).st_size == 0:
            return None
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return scan_results_bytes(mapped)   # copies out all it returns
    finally:
        try:
            mapped.close()
        except BufferError:   # a view of it still referenced somewhere: unmapped when freed
            pass
