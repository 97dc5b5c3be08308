"""Generators of malformed reader inputs and the plain reference parses they are judged by
(used by ``test_fuzz_readers.py``).

A case starts from a valid file of the reader's format and applies hostile edits: values
replaced by wrong types, NaN/Inf, numbers beyond float64 or with 5000 digits, empty
containers or 5000-deep nesting; keys deleted or written twice; ``v_`` aliases of video ids;
reversed segments; tokens and lines of text formats replaced, dropped or repeated; the bytes
truncated, spliced with invalid UTF-8 or replaced. ``Case.pristine`` marks an unedited file.

A reference parse returns what a correct reader gives, or raises :class:`Reject` when the
policy of ``docs/evaluation.md`` ("What the readers accept") refuses the input. They are
written plainly and independently of ``mmloc``'s readers.
"""
from __future__ import annotations

import copy
import io
import json
import math
import re
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st


class Reject(Exception):
    """The reference parse refuses the input."""


def need(cond) -> None:
    if not cond:
        raise Reject


@dataclass
class Case:
    raw: bytes
    pristine: bool


# ------------------------------------------------------------------ JSON building blocks
class Raw:
    """A JSON literal written as is (values ``json.dumps`` cannot write)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f'Raw({self.text[:20]!r}{"..." if len(self.text) > 20 else ""})'


class Dup(dict):
    """An object written with one key twice (``json.load`` keeps the last)."""

    def __init__(self, base: dict, key: str, value) -> None:
        super().__init__(base)
        self.dup = (key, value)


def dumps(obj) -> str:
    if isinstance(obj, Raw):
        return obj.text
    if isinstance(obj, dict):
        pairs = list(obj.items()) + ([obj.dup] if isinstance(obj, Dup) else [])
        return '{' + ', '.join(f'{json.dumps(str(k))}: {dumps(v)}' for k, v in pairs) + '}'
    if isinstance(obj, list):
        return '[' + ', '.join(dumps(v) for v in obj) + ']'
    return json.dumps(obj)       # NaN / Infinity literals for non-finite floats


DEEP = '[' * 5000 + ']' * 5000
RAW_LITERALS = [Raw('1e400'), Raw('-1e400'), Raw('9' * 400), Raw('9' * 5000), Raw(DEEP),
                Raw('-0.0'), Raw('1E-400'), Raw('{"a": ' * 3000 + '1' + '}' * 3000)]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6)

hostile_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(RAW_LITERALS),
    st.sampled_from(['', '1.5', 'nan', 'v_', 'a', 'validation']), st.just([]), st.just({}),
    st.lists(st.floats(-50, 50), max_size=3), st.lists(st.integers(-5, 5), max_size=3),
    json_values)


def _paths(obj, path=()):
    out = [path]
    if isinstance(obj, dict):
        for k in obj:
            out += _paths(obj[k], path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, path + (i,))
    return out


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _set(root, path, value):
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


JSON_EDITS = ('replace', 'replace', 'replace', 'delete', 'duplicate_key', 'alias_id', 'reverse',
              'wrap', 'stringify')


@st.composite
def json_edit(draw, doc):
    """One hostile edit of a parsed JSON document (a deep copy is edited)."""
    doc = copy.deepcopy(doc)
    paths = _paths(doc)
    path = paths[draw(st.integers(0, len(paths) - 1))]
    op = draw(st.sampled_from(JSON_EDITS))
    target = _get(doc, path)
    if op == 'replace':
        return _set(doc, path, draw(hostile_values))
    if op == 'delete' and path:
        parent = _get(doc, path[:-1])
        if isinstance(parent, dict):
            rest = {k: v for k, v in parent.items() if k != path[-1]}
            return _set(doc, path[:-1], Dup(rest, *parent.dup) if isinstance(parent, Dup)
                        and parent.dup[0] != path[-1] else rest)
        del parent[path[-1]]
        return doc
    if op == 'duplicate_key' and isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        value = draw(st.one_of(st.just(copy.deepcopy(target[key])), hostile_values))
        return _set(doc, path, Dup(target, key, value))
    if op == 'alias_id' and isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        alias = key[2:] if key.startswith('v_') else 'v_' + key
        if alias not in target:
            target[alias] = copy.deepcopy(target[key])
        return doc
    if op == 'reverse' and isinstance(target, list) and len(target) == 2:
        return _set(doc, path, target[::-1])
    if op == 'wrap':
        return _set(doc, path, [target])
    if op == 'stringify' and isinstance(target, (int, float)) and not isinstance(target, bool):
        return _set(doc, path, str(target))
    return _set(doc, path, draw(hostile_values))


BAD_BYTES = [b'\xff', b'\xc3(', b'\xed\xa0\x80', b'\x80\x80', b'\x00', b'\xef\xbb\xbf']


@st.composite
def byte_edit(draw, raw: bytes) -> bytes:
    op = draw(st.sampled_from(['truncate', 'truncate', 'splice', 'splice', 'replace', 'bom']))
    if op == 'truncate':
        return raw[:draw(st.integers(0, max(len(raw) - 1, 0)))]
    if op == 'splice':
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from(BAD_BYTES)) + raw[at:]
    if op == 'bom':
        return b'\xef\xbb\xbf' + raw
    return draw(st.binary(max_size=64))


@st.composite
def json_cases(draw, valid_docs):
    """A :class:`Case` from a strategy of valid documents."""
    doc = draw(valid_docs)
    n_edits = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))
    for _ in range(n_edits):
        doc = draw(json_edit(doc))
    raw = dumps(doc).encode('utf-8')
    edit_bytes = draw(st.sampled_from([False, False, False, True]))
    if edit_bytes:
        raw = draw(byte_edit(raw))
    return Case(raw, pristine=n_edits == 0 and not edit_bytes)


# ------------------------------------------------------------------ valid JSON documents
names = st.text('abcXYZ019_-', min_size=1, max_size=8)
seconds = st.floats(-5, 300, allow_nan=False)
lengths = st.floats(0, 60, allow_nan=False)
scores = st.floats(-10, 10, allow_nan=False)
labels = st.sampled_from(['jump', 'swim', 'run', 0, 1, 2])


@st.composite
def segment(draw):
    start = draw(seconds)
    return [start, start + draw(lengths)]


def _video_ids(draw):
    ids = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    return ['v_' + i for i in ids] if draw(st.booleans()) else ids


@st.composite
def results_docs(draw):
    labelled = draw(st.booleans())
    body = {}
    for vid in _video_ids(draw):
        items = []
        for _ in range(draw(st.integers(0, 3))):
            item = {'score': draw(scores), 'segment': draw(segment())}
            if labelled:
                item['label'] = draw(labels)
            items.append(item)
        body[vid] = items
    if draw(st.booleans()):
        return body
    return {'version': 'VERSION 1.3', 'results': body, 'external_data': {}}


def _annotations(draw, with_label=True):
    anns = []
    for _ in range(draw(st.integers(0, 3))):
        ann = {'segment': draw(segment())}
        if with_label:
            ann['label'] = draw(labels)
        anns.append(ann)
    return anns


@st.composite
def official_gt_docs(draw):
    db = {vid: {'subset': draw(st.sampled_from(['validation', 'validation', 'training'])),
                'duration': draw(st.floats(0.5, 300)), 'url': 'https://youtu.be/x',
                'annotations': _annotations(draw)}
          for vid in draw(st.lists(names, min_size=1, max_size=4, unique=True))}
    if not any(r['subset'] == 'validation' for r in db.values()):
        next(iter(db.values()))['subset'] = 'validation'
    return {'version': 'VERSION 1.3', 'taxonomy': [], 'database': db}


@st.composite
def mmaction_gt_docs(draw):
    return {vid: {'duration_second': draw(st.floats(0.5, 300)),
                  'duration_frame': draw(st.integers(1, 10**5)),
                  'feature_frame': draw(st.integers(1, 10**5)),
                  'fps': draw(st.sampled_from([25, 29.97, 30.0])),
                  'annotations': _annotations(draw)}
            for vid in draw(st.lists(names, min_size=1, max_size=4, unique=True))}


FEATURE_CLASSES = ('jump', 'swim', 'run')


@st.composite
def feature_dataset_docs(draw):
    db = {vid: {'subset': 'training', 'duration': draw(st.floats(0.5, 300)),
                'fps': draw(st.sampled_from([25, 30.0])),
                'annotations': [dict(a, label=draw(st.sampled_from(FEATURE_CLASSES)))
                                for a in _annotations(draw, with_label=False)]}
          for vid in draw(st.lists(names, min_size=1, max_size=4, unique=True))}
    return {'version': 'x', 'database': db}


@st.composite
def classifier_docs(draw):
    """The three layouts: label/score items, G-TAD's score lists with a "class" list and
    ActionFormer's (CUHK) score lists without one."""
    ids = _video_ids(draw)
    layout = draw(st.sampled_from(['items', 'class', 'plain']))
    if layout == 'items':
        return {'results': {v: [{'label': draw(labels), 'score': draw(scores)}
                                for _ in range(draw(st.integers(0, 3)))] for v in ids}}
    classes = draw(st.lists(st.sampled_from(['jump', 'swim', 'run', 'walk']), min_size=1,
                            max_size=4, unique=True))
    body = {'results': {v: [draw(scores) for _ in classes] for v in ids}}
    return dict(body, **{'class': classes}) if layout == 'class' else body


# ------------------------------------------------------------------ JSON reference parses
def strict_json(raw: bytes):
    """UTF-8, no repeated key in any object, anything ``json.loads`` refuses is refused."""
    def no_repeats(pairs):
        keys = [k for k, _ in pairs]
        need(len(set(keys)) == len(keys))
        return dict(pairs)
    try:
        return json.loads(raw.decode('utf-8'), object_pairs_hook=no_repeats)
    except Reject:
        raise
    except Exception:           # noqa: BLE001 (decode, syntax, depth, digit limit)
        raise Reject from None


def is_num(x) -> bool:
    return type(x) in (int, float)


def ref_float(x, positive=False) -> float:
    need(is_num(x))
    try:
        f = float(x)
    except OverflowError:
        raise Reject from None
    need(math.isfinite(f) and (f > 0 or not positive))
    return f


def ref_int(x) -> int:
    f = ref_float(x, positive=True)
    need(f == int(f))
    return int(f)


def ref_segment(x) -> list:
    need(isinstance(x, list) and len(x) == 2)
    start, end = ref_float(x[0]), ref_float(x[1])
    need(start <= end)
    return [start, end]


def ref_label(x):
    if isinstance(x, str):
        return x
    f = ref_float(x)
    need(f == int(f))
    return int(f)


def ref_unique_ids(ids) -> None:
    bare = [i[2:] if i.startswith('v_') else i for i in ids]
    need(len(set(bare)) == len(bare))


def ref_results(raw: bytes):
    data = strict_json(raw)
    need(isinstance(data, dict))
    body = data['results'] if 'results' in data else data
    need(isinstance(body, dict) and body)
    ref_unique_ids(body)
    out = {}
    for vid, items in body.items():
        need(isinstance(items, list))
        segs, vals, labs = [], [], []
        for item in items:
            need(isinstance(item, dict) and 'segment' in item and 'score' in item)
            segs.append(ref_segment(item['segment']))
            vals.append(ref_float(item['score']))
            if 'label' in item:
                labs.append(ref_label(item['label']))
        need(not labs or len(labs) == len(items))
        out[vid] = (segs, vals, labs or None)
    return out, 0


def _ref_gt_record(rec, outside):
    need(isinstance(rec, dict) and isinstance(rec.get('annotations'), list))
    duration = None
    for field in ('duration', 'duration_second'):
        if field in rec:       # null: the duration is not known
            duration = None if rec[field] is None else ref_float(rec[field], positive=True)
            break
    segs, labs = [], []
    for ann in rec['annotations']:
        need(isinstance(ann, dict) and 'segment' in ann and 'label' in ann)
        seg = ref_segment(ann['segment'])
        labs.append(ref_label(ann['label']))
        segs.append(seg)
        if duration is not None and (seg[0] < 0 or seg[1] > duration):
            outside.append(seg)
    return segs, labs, duration


def ref_ground_truth(raw: bytes, subset=None):
    data = strict_json(raw)
    need(isinstance(data, dict))
    recs = data['database'] if 'database' in data else data
    need(isinstance(recs, dict) and recs)
    ref_unique_ids(recs)
    strip = all(k.startswith('v_') for k in recs)
    has_subset = any(isinstance(r, dict) and 'subset' in r for r in recs.values())
    out, outside = {}, []
    for key, rec in recs.items():
        if isinstance(rec, dict) and 'subset' in rec:
            need(isinstance(rec['subset'], str))
        if subset is not None and has_subset and isinstance(rec, dict) \
                and rec.get('subset') != subset:
            continue
        segs, labs, duration = _ref_gt_record(rec, outside)
        out[key[2:] if strip else key] = (segs, labs, duration, rec.get('subset'))
    need(out or subset is None or not has_subset)
    return out, len(outside)


def ref_mmaction_annotations(raw: bytes):
    data = strict_json(raw)
    need(isinstance(data, dict) and 'database' not in data and data)
    ref_unique_ids(data)
    outside = []
    for rec in data.values():
        need(isinstance(rec, dict) and 'duration_second' in rec and 'annotations' in rec)
        _ref_gt_record(rec, outside)
        for field in ('duration_frame', 'fps'):
            if field in rec:
                ref_float(rec[field], positive=True)
    return data, len(outside)


def _ref_dataset_annotations(anns, classes=None):
    need(isinstance(anns, list))
    segs, labs = [], []
    for ann in anns:
        need(isinstance(ann, dict))
        segs.append(ref_segment(ann.get('segment')))
        label = None
        if 'label' in ann:
            label = ref_label(ann['label'])
            if classes is not None:
                need(str(ann['label']) in classes)
                label = classes.index(str(ann['label']))
        labs.append(label)
    return segs, labs


def ref_activitynet_dataset(raw: bytes):
    """``ActivityNetDataset`` (MMAction2 records): what ``get_data_info`` holds per video."""
    data = strict_json(raw)
    need(isinstance(data, dict) and data)
    need(not ('database' in data and isinstance(data['database'], dict)))
    ref_unique_ids(data)
    out, outside = [], 0
    for vid, rec in data.items():
        need(isinstance(rec, dict))
        need(all(k in rec for k in ('duration_second', 'duration_frame', 'annotations',
                                    'feature_frame')))
        duration = ref_float(rec['duration_second'], positive=True)
        frames = (ref_int(rec['duration_frame']), ref_int(rec['feature_frame']))
        segs, labs = _ref_dataset_annotations(rec['annotations'])
        outside += sum(s[0] < 0 or s[1] > duration for s in segs)
        out.append((vid, duration, frames, segs, labs))
    return out, outside


def ref_feature_dataset(raw: bytes):
    """``FeatureDataset`` on the database layout with ``classes=FEATURE_CLASSES``."""
    data = strict_json(raw)
    need(isinstance(data, dict))
    recs = data['database'] if isinstance(data.get('database'), dict) else data
    ref_unique_ids(recs)
    need(recs)
    out, outside = [], 0
    for vid, rec in recs.items():
        need(isinstance(rec, dict))
        field = 'duration_second' if 'duration_second' in rec else 'duration'
        need(field in rec)
        duration = ref_float(rec[field], positive=True)
        segs, labs = _ref_dataset_annotations(rec.get('annotations', []), list(FEATURE_CLASSES))
        need('fps' in rec)
        fps = ref_float(rec['fps'], positive=True)
        outside += sum(s[0] < 0 or s[1] > duration for s in segs)
        out.append((vid, duration, fps, segs, [0 if lab is None else lab for lab in labs]))
    return out, outside


def ref_classifier(raw: bytes):
    data = strict_json(raw)
    need(isinstance(data, dict) and isinstance(data.get('results'), dict) and data['results'])
    ref_unique_ids(data['results'])
    classes = data.get('class')
    if classes is not None:
        need(isinstance(classes, list) and classes)
        classes = [ref_label(c) for c in classes]
        need(len(set(classes)) == len(classes))
    out = {}
    for vid, items in data['results'].items():
        need(isinstance(items, list))
        if classes is not None:
            need(len(items) == len(classes))
            out[vid] = (classes, [ref_float(x) for x in items])
        elif items and all(is_num(x) for x in items):   # no "class": the labels are indices
            out[vid] = (list(range(len(items))), [ref_float(x) for x in items])
        else:
            need(all(isinstance(i, dict) and 'label' in i and 'score' in i for i in items))
            out[vid] = ([ref_label(i['label']) for i in items],
                        [ref_float(i['score']) for i in items])
    return out, 0


# ------------------------------------------------------------------ text formats
HOSTILE_TOKENS = ['nan', 'NaN', 'inf', '-inf', 'Infinity', '1e999', '-1e999', '9' * 400, 'abc',
                  '', '-1', '3.5', '0x10', '\uff11', '1_0', '#', ',', '1e', '+.5', ' ', '\t']


def _edit_lines(draw, lines: list) -> list:
    lines = list(lines)
    op = draw(st.sampled_from(['token', 'token', 'token', 'drop', 'repeat', 'insert', 'swap']))
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if not lines:
        return [draw(st.sampled_from(HOSTILE_TOKENS))]
    if op == 'drop':
        del lines[i]
    elif op == 'repeat':
        lines.insert(i, lines[i])
    elif op == 'insert':
        lines.insert(i, draw(st.sampled_from(HOSTILE_TOKENS + ['#x', '1 2 3', '0 0.5 0.5 3 1'])))
    else:
        sep = ',' if ',' in lines[i] else ' '
        tokens = lines[i].split(sep)
        j = draw(st.integers(0, len(tokens) - 1))
        if op == 'swap' and len(tokens) >= 2:
            tokens[-1], tokens[-2] = tokens[-2], tokens[-1]
        else:
            tokens[j] = draw(st.sampled_from(HOSTILE_TOKENS) | st.text(max_size=4))
        lines[i] = sep.join(tokens)
    return lines


@st.composite
def text_cases(draw, valid_lines):
    lines = draw(valid_lines)
    n_edits = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))
    for _ in range(n_edits):
        lines = _edit_lines(draw, lines)
    raw = ('\n'.join(lines) + '\n').encode('utf-8')
    edit_bytes = draw(st.sampled_from([False, False, False, True]))
    if edit_bytes:
        raw = draw(byte_edit(raw))
    return Case(raw, pristine=n_edits == 0 and not edit_bytes)


@st.composite
def proposal_text_lines(draw):
    lines = []
    for k, vid in enumerate(draw(st.lists(names, min_size=1, max_size=3, unique=True))):
        lines += [f'#{k}', vid, str(draw(st.integers(1, 10**5))),
                  repr(draw(st.sampled_from([25, 30.0, 29.97])))]
        gts = [(draw(st.integers(0, 199)), *draw(segment())) for _ in range(draw(st.integers(0, 3)))]
        lines.append(str(len(gts)))
        lines += [f'{c} {s!r} {e!r}' for c, s, e in gts]
        n = draw(st.integers(0, 3))
        lines.append(str(n))
        for _ in range(n):
            s, e = draw(segment())
            lines.append(f'{draw(st.integers(0, 199))} {draw(st.floats(0, 1))!r} '
                         f'{draw(st.floats(0, 1))!r} {s!r} {e!r}')
    return lines


def ref_proposal_text(raw: bytes):
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise Reject from None
    blocks, cur = [], None
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith('#'):
            cur = []
            blocks.append(cur)
        elif ln:
            need(cur is not None)
            cur.append(ln)
    need(blocks)

    def number(tok):
        try:
            value = float(tok)
        except ValueError:
            raise Reject from None
        need(math.isfinite(value))
        return value

    def count(tok):
        try:
            n = int(tok)
        except ValueError:
            raise Reject from None
        need(n >= 0)
        return n

    def row(line, n):
        toks = line.split()
        need(len(toks) == n)
        vals = [number(t) for t in toks]
        need(vals[0] == int(vals[0]) and vals[0] >= 0 and vals[-2] <= vals[-1])
        if n == 5:
            need(0 <= vals[1] <= 1 and 0 <= vals[2] <= 1)
        return vals

    out = []
    for block in blocks:
        need(len(block) >= 5)
        need(number(block[1]) > 0 and number(block[2]) > 0)
        n_gt = count(block[3])
        need(len(block) >= 5 + n_gt)
        gt = [row(ln, 3) for ln in block[4:4 + n_gt]]
        n_prop = count(block[4 + n_gt])
        props = [row(ln, 5) for ln in block[5 + n_gt:]]
        need(len(props) == n_prop)
        out.append((block[0], block[1], block[2], gt, props))
    ref_unique_ids([b[0] for b in out])
    return out, 0


# CSV: what a plain reading of "a header line, then rows of comma-separated decimals" gives
FLOAT_TOKEN = re.compile(r'\s*[+-]?([0-9]+\.?[0-9]*(e[+-]?[0-9]+)?|\.[0-9]+(e[+-]?[0-9]+)?|inf'
                         r'|infinity|nan)\s*', re.IGNORECASE)


def ref_csv_rows(raw: bytes, max_rows=None) -> tuple[str, np.ndarray]:
    """(header line, float32 rows) of a headed CSV; ragged rows, non-decimal fields refused."""
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise Reject from None
    lines = io.StringIO(text, newline=None).read().split('\n')
    rows = []
    for ln in lines[1:]:
        ln = ln.split('#', 1)[0]
        if not ln.strip():
            continue
        fields = ln.split(',')
        need(all(FLOAT_TOKEN.fullmatch(f) for f in fields))
        rows.append([np.float32(float(f)) for f in fields])
        if max_rows is not None and len(rows) == max_rows:
            break
    need(len({len(r) for r in rows}) <= 1)
    table = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1 if rows else 0)
    return lines[0], table


def _csv_lines(draw, header, rows):
    fmt = draw(st.sampled_from(['%.18e', 'repr']))
    out = [header]
    for r in rows:
        out.append(','.join(('%.18e' % v) if fmt == '%.18e' else repr(float(v)) for v in r))
    return out


@st.composite
def tem_lines(draw):
    t = draw(st.integers(2, 6))
    rows = [[draw(st.floats(0, 1)) for _ in range(3)] + [i / t, (i + 1) / t] for i in range(t)]
    return _csv_lines(draw, 'action,start,end,tmin,tmax', rows)


@st.composite
def pgm_lines(draw):
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        tmin = draw(st.floats(-0.1, 1.0))
        rows.append([tmin, tmin + draw(st.floats(0, 0.3))] + [draw(st.floats(0, 1))
                                                             for _ in range(5)])
    return _csv_lines(draw, 'tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa', rows)


@st.composite
def feature_csv_lines(draw):
    c = draw(st.integers(1, 4))
    rows = [[draw(st.floats(-1e3, 1e3)) for _ in range(c)] for _ in range(draw(st.integers(1, 5)))]
    return _csv_lines(draw, ','.join(f'f{i}' for i in range(c)), rows)


def _ref_bsn_table(raw, columns, max_rows=None):
    header, table = ref_csv_rows(raw, max_rows)
    need(tuple(h.strip().lstrip('#').strip() for h in header.split(',')) == columns)
    if table.size == 0:
        return np.zeros((0, len(columns)), np.float32), 0
    need(table.shape[1] == len(columns) and np.isfinite(table).all())
    lo, hi = (3, 4) if len(columns) == 5 else (0, 1)
    need((table[:, lo] <= table[:, hi]).all())
    return table, int(((table[:, lo] < 0) | (table[:, hi] > 1)).sum())


def ref_tem(raw: bytes):
    table, outside = _ref_bsn_table(raw, ('action', 'start', 'end', 'tmin', 'tmax'))
    need(len(table) >= 2)
    return table, outside


def ref_pgm(raw: bytes, max_rows=None):
    return _ref_bsn_table(raw, ('tmin', 'tmax', 'tmin_score', 'tmax_score', 'score',
                                'match_iou', 'match_ioa'), max_rows)


def ref_feature_csv(raw: bytes):
    _, table = ref_csv_rows(raw)
    need(table.ndim == 2 and table.shape[0] >= 1 and table.shape[1] >= 1)
    need(np.isfinite(table).all())
    return table, 0


# ------------------------------------------------------------------ arrays (.npy/.npz/.pt)
DTYPES = ['<f8', '<f8', '<f4', '<f4', '<f2', '<i8', '<i4', '|u1', '|b1', '<c8', '<U3', '|O',
          [('a', '<f8')]]


@st.composite
def arrays(draw, min_dims=0, max_dims=3):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=max_dims)))
    n = int(np.prod(shape))
    if dtype.kind in 'fc':
        values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e3, 1e3),
                               min_size=n, max_size=n))
        with np.errstate(over='ignore', invalid='ignore'):
            return np.asarray(values, dtype=np.float64).astype(dtype).reshape(shape)
    if dtype.kind in 'iub':
        values = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
        return np.asarray(values).astype(dtype).reshape(shape)
    if dtype.kind == 'U':
        return np.asarray(draw(st.lists(st.text(max_size=3), min_size=n, max_size=n)),
                          dtype=dtype).reshape(shape)
    if dtype.kind == 'O':
        return np.asarray([None] * n, dtype=object).reshape(shape)
    return np.zeros(shape, dtype=dtype)


@st.composite
def valid_arrays(draw):
    t, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(['<f8', '<f4']))
    return np.asarray(draw(st.lists(st.floats(-1e3, 1e3), min_size=t * c, max_size=t * c)),
                      dtype=dtype).reshape(t, c)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _npz_bytes(arrays_: dict, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays_)
    return buf.getvalue()


HEADER_EDITS = [(rb"'shape': \([^)]*\)", b"'shape': (99999999999999, 32)"),
                (rb"'shape': \([^)]*\)", b"'shape': (9999999999999999999999, 3)"),
                (rb"'shape': \([^)]*\)", b"'shape': (-1, 3)"),
                (rb"'shape': \([^)]*\)", b"'shape': (1000000, 2)"),
                (rb"'descr': '[^']*'", b"'descr': 'zz'"),
                (rb"'descr': '[^']*'", b"'descr': '<f8'"),
                (rb"'fortran_order': \w+", b"'fortran_order': 'x'"),
                (rb'\{', b'[')]


@st.composite
def npy_edit(draw, raw: bytes) -> bytes:
    if draw(st.booleans()):
        pattern, repl = draw(st.sampled_from(HEADER_EDITS))
        return re.sub(pattern, repl, raw, count=1)
    if draw(st.booleans()) and len(raw) > 10:
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1:]
    return draw(byte_edit(raw))


@st.composite
def npy_cases(draw):
    if draw(st.sampled_from([True, False, False])):
        arr, pristine = draw(valid_arrays()), True
    else:
        arr, pristine = draw(arrays()), False
    raw = _npy_bytes(arr)
    if draw(st.sampled_from([0, 0, 1])):
        raw, pristine = draw(npy_edit(raw)), False
    elif draw(st.sampled_from([0, 0, 0, 1])):
        raw, pristine = _npz_bytes({'x': arr}, False), False
    return Case(raw, pristine)


@st.composite
def npz_cases(draw):
    pristine = draw(st.sampled_from([True, False, False]))
    if pristine:
        members = {'feats': draw(valid_arrays())}
    else:
        keys = draw(st.lists(st.sampled_from(['feats', 'x', 'arr_0']), min_size=0, max_size=2,
                             unique=True))
        members = {k: draw(arrays()) for k in keys}
    try:
        raw = _npz_bytes(members, draw(st.booleans()))
    except ValueError:          # np.savez refuses some object arrays without pickling
        raw, pristine = b'PK', False
    if draw(st.sampled_from([0, 0, 1])):
        raw, pristine = draw(npy_edit(raw)), False
    elif draw(st.sampled_from([0, 0, 0, 1])):
        raw, pristine = _npy_bytes(draw(valid_arrays())), False
    return Case(raw, pristine)


def ref_npy(raw_path: str, min_rows: int, cast32: bool):
    try:
        arr = np.load(raw_path, allow_pickle=False)
    except Exception:           # noqa: BLE001 (numpy refuses the bytes)
        raise Reject from None
    need(isinstance(arr, np.ndarray))
    return ref_array(arr, min_rows, cast32)


def ref_npz(raw_path: str):
    try:
        with np.load(raw_path, allow_pickle=False) as z:
            need(isinstance(z, np.lib.npyio.NpzFile))
            members = {k: z[k] for k in z.files}
    except Reject:
        raise
    except Exception:           # noqa: BLE001
        raise Reject from None
    need(len(members) == 1)
    return ref_array(next(iter(members.values())), 1, True)


def ref_array(arr: np.ndarray, min_rows: int, cast32: bool):
    need(arr.dtype.kind in 'iuf' and arr.ndim == 2)
    need(arr.shape[0] >= min_rows and arr.shape[1] >= 1)
    need(np.isfinite(arr.astype(np.float64)).all())
    if cast32:
        with np.errstate(over='ignore'):
            arr = arr.astype(np.float32)
        need(np.isfinite(arr).all())
    return arr, 0


@st.composite
def torch_objects(draw):
    import torch
    if draw(st.sampled_from([True, False, False])):
        return torch.from_numpy(draw(valid_arrays()).copy()), True
    kind = draw(st.sampled_from(['tensor', 'tensor', 'tensor', 'dict', 'list', 'scalar', 'str',
                                 'none', 'sparse']))
    dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                  torch.int64, torch.uint8, torch.bool, torch.complex64]))

    def tensor():
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
        n = int(np.prod(shape))
        values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e3, 1e3),
                               min_size=n, max_size=n))
        with np.errstate(over='ignore', invalid='ignore'):
            base = torch.tensor(values, dtype=torch.float64).reshape(shape)
        t = base.nan_to_num().to(dtype) if not dtype.is_floating_point else base.to(dtype)
        if dtype.is_floating_point and draw(st.booleans()):
            t.requires_grad_(True)
        return t

    if kind == 'tensor':
        return tensor(), False
    if kind == 'dict':
        return {k: tensor() for k in draw(st.lists(st.sampled_from(['feats', 'x']), max_size=2,
                                                    unique=True))}, False
    if kind == 'list':
        return [tensor()], False
    if kind == 'sparse':
        return torch.eye(3).to_sparse(), False
    return {'scalar': 3, 'str': 'features', 'none': None}[kind], False


@st.composite
def pt_cases(draw):
    import torch
    obj, pristine = draw(torch_objects())
    buf = io.BytesIO()
    torch.save(obj, buf)
    raw = buf.getvalue()
    if draw(st.sampled_from([0, 0, 1])):
        raw, pristine = draw(npy_edit(raw)), False
    return Case(raw, pristine)


def ref_pt(raw_path: str):
    import torch
    try:
        obj = torch.load(raw_path, map_location='cpu', weights_only=True)
    except Exception:           # noqa: BLE001
        raise Reject from None
    if isinstance(obj, dict):
        need(len(obj) == 1)
        obj = next(iter(obj.values()))
    need(isinstance(obj, torch.Tensor) and obj.layout == torch.strided)
    need(not obj.dtype.is_complex and obj.dtype != torch.bool)
    obj = obj.detach()
    arr = obj.float().numpy() if obj.dtype.is_floating_point else obj.numpy()
    return ref_array(arr, 1, True)
