"""A fast reader for CSV rows of plain decimal numbers (BSN's TEM results and PGM proposals).

``np.loadtxt`` costs ~0.4 ms per small file, mostly per-call set-up; BSN's PGM reads three
such files per video. Files that are exactly rows of ``ncols`` comma-separated decimals are
parsed here in a few vectorised passes; anything else (blank lines, quotes, ``nan``, a
missing field, a ragged row) returns None, and the caller's ``np.loadtxt`` reads it and says
what is wrong. Values are parsed to float64 (C ``strtod``, correctly rounded) as
``np.loadtxt`` parses them before casting to a float32 dtype, so the two agree bit for bit.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

try:
    import orjson
except ImportError:                                     # a requirement; numpy's parser
    orjson = None

# bytes of plain decimal rows: digits . e E + - , CR LF (no spaces: numpy's text parser
# reads a blank field between two commas as -1)
_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[np.frombuffer(b'0123456789.eE+-,\r\n', np.uint8)] = True
# a field ends in a digit or '.' ("1."); a separator after anything else (another separator,
# an exponent without digits, a sign) is an empty or unfinished field
_FIELD_END = np.zeros(256, dtype=bool)
_FIELD_END[np.frombuffer(b'0123456789.', np.uint8)] = True
_NEWLINE, _COMMA, _CR = ord('\n'), ord(','), ord('\r')


def parse_plain_float_rows(data: bytes, ncols: int,
                           max_rows: Optional[int] = None) -> Optional[np.ndarray]:
    """float64 (R, ncols) rows of header-less CSV text, or None if it is not plain rows.

    Args:
        data: the file's bytes after its header line.
        ncols: values per row (>= 1).
        max_rows: read only the first this many rows (None: all).

    Returns:
        (R, ncols) float64, R rows in file order (R = 0 for no data); None when any row is
        not ``ncols`` plain decimals separated by single commas, lines ending in LF or CRLF
        (the strict reader decides).
    """
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == _NEWLINE)
    if len(data) and data[-1:] != b'\n':                # last row without a newline
        ends = np.append(ends, len(data))
    if max_rows is not None:
        ends = ends[:max_rows]
    if not len(ends):
        return np.zeros((0, ncols)) if max_rows == 0 or not data else None
    text = data[:int(ends[-1])]
    if text[-1:] == b'\r':                             # the CR of the last CRLF
        text = text[:-1]
    buf = buf[:len(text)]
    if not len(text) or not _PLAIN[buf].all() or not _FIELD_END[buf[-1]]:
        return None
    cr = np.flatnonzero(buf == _CR)                     # only as CRLF
    lf = ends[:-1]                                      # the LFs inside text
    if len(cr) and (len(cr) != len(lf) or (cr + 1 != lf).any()):
        return None
    seps = np.flatnonzero((buf == _COMMA) | (buf == _CR) | (buf == _NEWLINE))
    seps = seps[buf[seps - 1] != _CR] if len(cr) else seps   # the LF of a CRLF
    if len(seps) and (seps[0] == 0 or not _FIELD_END[buf[seps - 1]].all()):
        return None
    commas = np.flatnonzero(buf == _COMMA)
    per_row = np.diff(np.searchsorted(commas, ends), prepend=0)
    if (per_row != ncols - 1).any():
        return None
    values = _parse_numbers(text, len(ends) * ncols)
    return None if values is None else values.reshape(len(ends), ncols)


def _parse_numbers(text: bytes, count: int) -> Optional[np.ndarray]:
    """The ``count`` numbers of checked rows as float64, or None if they do not parse."""
    flat = text.replace(b'\r', b'').replace(b'\n', b',')
    # orjson: correctly rounded like strtod, ~4x np.fromstring. Only when every field has a
    # '.' (a JSON number has at most one, so count == fields): integer fields would come
    # back as ints ("-0" as 0, huge ones rounded its own way); ".5", "+1" fail and fall through.
    if orjson is not None and text.count(b'.') == count:
        try:
            values = np.array(orjson.loads(b'[' + flat + b']'), dtype=np.float64)
        except (orjson.JSONDecodeError, ValueError, TypeError, OverflowError):
            values = None
        if values is not None and values.shape == (count,):
            return values
    with warnings.catch_warnings():
        warnings.simplefilter('error')                  # a partial parse warns: refuse it
        try:
            values = np.fromstring(flat, dtype=np.float64, sep=',')
        except (ValueError, DeprecationWarning):
            return None
    return values if values.size == count else None
