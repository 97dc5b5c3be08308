"""Readers and writers of the localization result and annotation files.

Formats (localization-spec §1.2, §1.4, §1.5, §1.8, §1.9):

* **results** (ours / MMAction2 ``results.json`` and the official submission):
  ``{"version", "results": {video_id: [{"score", "segment": [s, e], ("label")}]}, "external_data"}``.
  ``version``/``external_data`` are optional on reading; a bare ``{video_id: [...]}`` is accepted.
* **ground truth**: the official ActivityNet JSON (``{"version", "taxonomy", "database"}``, ids
  without ``v_``, per-video ``subset``), MMAction2's annotation JSON (``{"v_<id>": {"duration_second",
  ..., "annotations"}}``) and MMAction2's hybrid GT (``{"v_<id>": {"duration", "subset", ...}}``).
* **classifier results** (``report_map``): ``{"results": {id: [{"label", "score"}]}}`` or the
  G-TAD/OpenTAD layout ``{"results": {id: [C floats]}, "class": [C names]}``.
* **proposal text** for SSN/P-GCN (§1.8).

Video ids: the official files use bare YouTube ids, MMAction2 files ``v_<id>``. A file's ids are
made bare when *all* of them start with ``v_`` (some real ids start with ``-`` or ``_``, none of
ActivityNet's with ``v_``); result ids are then matched to GT ids with or without ``v_``.

Every reader names the file, the video and the field in its errors.
"""
from __future__ import annotations

import itertools
import math
import operator
import os
import warnings
from typing import Iterable, Mapping

import numpy as np

from mmloc.datasets.annotations import classes_by_label_id  # noqa: F401 (re-exported)
from mmloc.utils import atomic_open, atomic_write_json
from mmloc.utils.io import (collector_paused, count_json_containers, load_json_file,
                            read_utf8_text)
from mmloc.utils.progress import track
from mmloc.utils.validation import (FormatError, FormatKeyError, check_label, check_number,
                                    check_segment, check_video_ids, warn_outside_duration)

from .results_scan import plain_numbers, scan_results_file

__all__ = ['FormatError', 'FormatKeyError', 'load_json', 'bare_ids', 'match_video_id',
           'read_blocked', 'read_ground_truth', 'class_names_from_gt', 'read_results',
           'align_results_to_gt', 'clip_results_to_duration', 'count_outside_duration',
           'results_to_json', 'write_results', 'read_mmaction_annotations',
           'read_classifier_results', 'format_proposal_text_block', 'parse_proposal_text',
           'write_text', 'read_class_index', 'build_proposal_text', 'classes_by_label_id',
           'name_classifier_classes']

RESULTS_VERSION = 'VERSION 1.3'


# ----------------------------------------------------------------------------- helpers
def load_json(path, count=count_json_containers) -> object:
    """Read a JSON file; invalid, non-UTF-8 JSON or repeated keys raise ``FormatError``
    naming the file (a video id listed twice would otherwise silently lose a video).
    ``count``: the proof walk of the fast path (:func:`mmloc.utils.io.parse_json_unique`)."""
    return load_json_file(path, count=count)


def _source(obj, name, count=count_json_containers):
    """(data, label for messages): a path is loaded, an in-memory object is used as is."""
    if isinstance(obj, (str, os.PathLike)):
        return load_json(obj, count), os.fspath(obj)
    return obj, name


def bare_ids(ids: Iterable[str]) -> dict[str, str]:
    """Map each id to its bare form: ``v_`` is removed when every id of the set has it."""
    ids = list(ids)
    strip = len(ids) > 0 and all(isinstance(i, str) and i.startswith('v_') for i in ids)
    return {i: (i[2:] if strip else i) for i in ids}


def match_video_id(video_id: str, known: Mapping | set) -> str:
    """``video_id`` as spelled in ``known`` (tries as is, without ``v_``, with ``v_``)."""
    if video_id in known:
        return video_id
    if video_id.startswith('v_') and video_id[2:] in known:
        return video_id[2:]
    if 'v_' + video_id in known:
        return 'v_' + video_id
    return video_id


def _segment(value, where: str) -> tuple[float, float]:
    return check_segment(value, f'{where}: "segment"')


#: DETAD's per-instance characteristic fields -> the names of ``mmloc.evaluation.diagnosis``.
DETAD_CHARACTERISTIC_FIELDS = {'coverage': 'coverage', 'length': 'length',
                               'num-instances': 'num_instances'}


def _characteristic(value, where: str, field: str) -> float:
    """A DETAD characteristic of one annotation: a finite number, or nan when absent / null."""
    if value is None:
        return math.nan
    return check_number(value, f'{where}: "{field}"')


def read_blocked(path) -> list[str]:
    """The official ``get_blocked`` reply: a JSON list of bare video ids."""
    data = load_json(path)
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise FormatError(f'{os.fspath(path)}: expected a JSON list of video ids')
    return data


# ----------------------------------------------------------------------------- ground truth
def _plain_annotations(anns: list):
    """``(segments [(start, end)] * G floats, labels [str] * G)`` when every annotation is
    exactly ``{"segment": [start, end], "label": name}`` with two finite numbers (int /
    float), ``start <= end``: what :func:`_gt_record`'s per-annotation checks return for
    them, with type tests instead of the ``numbers.Real`` checks. None otherwise (the
    per-annotation checks then decide and name the annotation)."""
    if not all(type(a) is dict and len(a) == 2 for a in anns):
        return None
    try:
        segments = [a['segment'] for a in anns]
        labels = [a['label'] for a in anns]
    except KeyError:
        return None
    if not all(type(seg) is list and len(seg) == 2 for seg in segments) \
            or not set(map(type, itertools.chain.from_iterable(segments))) <= _JSON_NUMBERS \
            or not set(map(type, labels)) <= {str}:
        return None
    try:
        pairs = [(float(a), float(b)) for a, b in segments]
    except OverflowError:   # an int with hundreds of digits
        return None
    if not all(math.isfinite(a) and math.isfinite(b) and a <= b for a, b in pairs):
        return None
    return pairs, labels


def _gt_record(rec, where: str, outside: list, vid: str) -> tuple[list, list, float | None, dict]:
    """Check one GT record: ``(segments, labels, duration_s, characteristics)``; segments
    reaching outside ``[0, duration]`` are appended to ``outside`` (accepted, one warning per
    file); ``characteristics``: DETAD's per-instance fields, ``{name: [float | nan] * G}``."""
    if not isinstance(rec, dict):
        raise FormatError(f'{where}: expected a record object, got {type(rec).__name__}')
    anns = rec.get('annotations')
    if anns is None:
        raise FormatKeyError(f'{where}: missing field "annotations"')
    if not isinstance(anns, list):
        raise FormatError(f'{where}: "annotations" must be a list, got {type(anns).__name__}')
    field = 'duration' if 'duration' in rec else 'duration_second' if 'duration_second' in rec \
        else None
    # null = unknown (the official evaluators never read it; ActivityNet's validation videos
    # that BSN lacks have none): the video is evaluated, only the outside-duration check is skipped.
    duration = None if field is None or rec[field] is None else check_number(
        rec[field], f'{where}: "{field}"', positive=True)
    plain = _plain_annotations(anns)
    if plain is not None:
        segments, labels = plain
        if duration is not None:
            outside.extend((vid, i, seg, duration) for i, seg in enumerate(segments)
                           if seg[0] < 0 or seg[1] > duration)
        return segments, labels, duration, {
            name: [math.nan] * len(anns) for name in DETAD_CHARACTERISTIC_FIELDS.values()}
    segments, labels = [], []
    chars = {name: [] for name in DETAD_CHARACTERISTIC_FIELDS.values()}
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict) or 'segment' not in ann or 'label' not in ann:
            raise FormatError(f'{where}: annotation {i} needs "segment" and "label"')
        seg = _segment(ann['segment'], f'{where} annotation {i}')
        if duration is not None and (seg[0] < 0 or seg[1] > duration):
            outside.append((vid, i, seg, duration))
        segments.append(seg)
        labels.append(check_label(ann['label'], f'{where} annotation {i}: "label"'))
        for field, name in DETAD_CHARACTERISTIC_FIELDS.items():
            chars[name].append(_characteristic(ann.get(field), f'{where} annotation {i}', field))
    return segments, labels, duration, chars


def _plain_number_columns(segments: list, values: list):
    """``(segments (N, 2) float64, values (M,) float64)`` of parsed JSON ``segments``
    (``[start, end]`` lists) and numbers ``values`` when every number is an int or float
    of magnitude < 2**63 and every ``start <= end`` (:func:`plain_numbers`); None
    otherwise."""
    if set(map(type, segments)) - {list} or set(map(len, segments)) - {2}:
        return None
    flat = list(itertools.chain.from_iterable(segments))   # 2N numbers: np.array is 4x faster on it
    if (set(map(type, flat)) | set(map(type, values))) - _JSON_NUMBERS:
        return None
    try:
        seg = np.array(flat, dtype=np.float64).reshape(-1, 2)
        out = np.array(values, dtype=np.float64)
    except OverflowError:   # an int beyond float64
        return None
    return (seg, out) if plain_numbers(seg, out) else None


def _plain_gt_columns(records: Mapping):
    """Every record's ``(segments (G, 2) float64, labels [str] * G, duration_s | None,
    any segment outside [0, duration])``, in file order, when all annotations of all
    records are plain (:func:`_plain_annotations`) and every duration is absent, null or a
    positive number: what :func:`_gt_record` returns for them, from a few C-level passes
    over all records instead of one check per video. None otherwise (the per-video checks
    then decide, and name the video)."""
    recs = list(records.values())
    if not set(map(type, recs)) <= {dict}:
        return None
    anns = [rec.get('annotations') for rec in recs]
    if not set(map(type, anns)) <= {list}:
        return None
    flat = list(itertools.chain.from_iterable(anns))
    if set(map(type, flat)) - {dict} or set(map(len, flat)) - {2}:
        return None
    try:
        segments = list(map(operator.itemgetter('segment'), flat))
        labels = list(map(operator.itemgetter('label'), flat))
    except KeyError:
        return None
    if set(map(type, labels)) - {str}:
        return None
    fields = ['duration' if 'duration' in rec else 'duration_second'
              if 'duration_second' in rec else None for rec in recs]
    durations = [None if f is None else rec[f] for rec, f in zip(recs, fields)]
    columns = _plain_number_columns(segments, [d for d in durations if d is not None])
    if columns is None or not (columns[1] > 0).all():
        return None
    seg, dur = columns
    per_video = np.full(len(recs), np.nan)
    per_video[[d is not None for d in durations]] = dur
    sizes = np.fromiter(map(len, anns), np.int64, len(anns))
    each = np.repeat(per_video, sizes)
    out_of = np.repeat(np.arange(len(recs)), sizes)[(seg[:, 0] < 0) | (seg[:, 1] > each)]
    outside = np.zeros(len(recs), bool)
    outside[out_of] = True
    ends = np.cumsum(sizes).tolist()
    return [(seg[a:b], labels[a:b], None if d is None else float(d), o)
            for a, b, d, o in zip([0] + ends[:-1], ends, durations, outside.tolist())]


@collector_paused
def read_ground_truth(source, subset: str | None = None,
                      blocked: Iterable[str] | str | os.PathLike | None = None) -> dict:
    """Read GT in the official, MMAction2 or hybrid layout.

    Args:
        source: path or already-loaded JSON object.
        subset: keep only videos whose ``subset`` equals it (official behaviour); files
            without a ``subset`` field (MMAction2's per-split files) are kept whole.
        blocked: ids (or the path of the official blocked-list JSON) to drop, as the
            official evaluators do.

    Returns:
        ``{bare_video_id: {'segments': (G, 2) float64 seconds, 'labels': [str | int] * G,
        'duration': float | None, 'subset': str | None}}`` in file order. Videos with no
        annotation are kept (G = 0). Where annotations carry DETAD's per-instance
        characteristics (``coverage``, ``length``, ``num-instances``, as in DETAD's
        ``*_extra_characteristics.json``), the record also has ``'characteristics':
        {'coverage' | 'length' | 'num_instances': (G,) float64, nan where not given}``.

    Every record is checked (:mod:`mmloc.utils.validation`); segments outside
    ``[0, duration]`` are kept with one warning for the file.
    """
    data, name = _source(source, '<ground truth>')
    if not isinstance(data, dict):
        raise FormatError(f'{name}: expected a JSON object of videos, got {type(data).__name__}')
    records = data['database'] if 'database' in data else data
    if not isinstance(records, dict):
        raise FormatError(f'{name}: "database" must map video ids to records')
    if not records:
        raise FormatError(f'{name}: the ground truth holds no videos')
    check_video_ids(records, name)
    if isinstance(blocked, (str, os.PathLike)):
        blocked = read_blocked(blocked)
    blocked = set(blocked or ())
    ids = bare_ids(records)
    has_subset = any(isinstance(r, dict) and 'subset' in r for r in records.values())
    plain = _plain_gt_columns(records)
    out, outside = {}, []
    for k, (key, rec) in enumerate(track(records.items(), len(records), f'reading {name}')):
        vid = ids[key]
        where = f'{name}: video {key}'
        if isinstance(rec, dict) and 'subset' in rec and not isinstance(rec['subset'], str):
            raise FormatError(f'{where}: "subset" must be a string, got {rec["subset"]!r}')
        if subset is not None and has_subset and isinstance(rec, dict) \
                and rec.get('subset') != subset:
            continue
        if vid in blocked or key in blocked:
            continue
        if plain is not None:
            segments, labels, duration, reach_out = plain[k]
            if reach_out:
                outside.extend((key, i, tuple(seg), duration)
                               for i, seg in enumerate(segments.tolist())
                               if seg[0] < 0 or seg[1] > duration)
            out[vid] = dict(segments=segments, labels=labels, duration=duration,
                            subset=rec.get('subset'))
            continue
        segments, labels, duration, chars = _gt_record(rec, where, outside, key)
        out[vid] = dict(segments=np.asarray(segments, dtype=np.float64).reshape(-1, 2),
                        labels=labels, duration=duration, subset=rec.get('subset'))
        if any(not math.isnan(v) for values in chars.values() for v in values):
            out[vid]['characteristics'] = {k: np.asarray(v, dtype=np.float64)
                                           for k, v in chars.items()}
    if subset is not None and has_subset and not out:
        raise FormatError(f'{name}: no video of subset {subset!r}')
    warn_outside_duration(name, outside)
    return out




def name_classifier_classes(classifier: Mapping, classes) -> dict:
    """Classifier results whose classes are indices (plain score lists, e.g. the CUHK file)
    with the indices replaced by ``classes[index]``; named classes are kept.

    ``classifier``: :func:`read_classifier_results` output. Raises when an index is outside
    ``classes``.
    """
    out = {}
    for vid, (labels, scores) in classifier.items():
        if labels and all(isinstance(c, (int, np.integer)) for c in labels):
            if len(labels) > len(classes):
                raise FormatError(f'classifier video {vid}: {len(labels)} class scores for '
                                  f'{len(classes)} classes')
            labels = [classes[int(c)] for c in labels]
        out[vid] = (list(labels), scores)
    return out


def class_names_from_gt(gt: Mapping) -> list[str]:
    """Class names in order of first appearance in the GT (the official class index)."""
    names: dict[str, None] = {}
    for rec in gt.values():
        for lab in rec['labels']:
            names.setdefault(lab, None)
    return list(names)


# ----------------------------------------------------------------------------- results
_JSON_NUMBERS = frozenset((float, int))
_NO_LABEL = object()


def _plain_items(items: list, require_label: bool):
    """``(segments (P, 2), scores (P,), labels or None)`` of one video's result items when
    they are all plainly valid (what a results writer produces), checked per column with
    C-level passes (``map``, ``set``, numpy); None when anything is unusual, and the
    per-item checks of :func:`read_results` then find it and name the item (or accept it:
    an integer label, a numpy scalar)."""
    try:
        segments = [item['segment'] for item in items]
        scores = [item['score'] for item in items]
        labels = [item.get('label', _NO_LABEL) for item in items]
        types = set(map(type, itertools.chain.from_iterable(segments)))
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    if not (types | set(map(type, scores))) <= _JSON_NUMBERS:
        return None
    try:
        seg = np.array(segments, dtype=np.float64)
        score = np.array(scores, dtype=np.float64)
    except (OverflowError, ValueError):    # a huge integer; ragged segments
        return None
    if seg.shape != (len(items), 2) and len(items):
        return None
    seg = seg.reshape(-1, 2)
    if not (np.isfinite(seg).all() and np.isfinite(score).all()
            and (seg[:, 1] >= seg[:, 0]).all()):
        return None
    label_types = set(map(type, labels))
    if label_types == {str}:
        return seg, score, labels
    if not items or (label_types == {object} and not require_label):
        return seg, score, None
    return None


_PLAIN_FIELDS = {2: ('segment', 'score'), 3: ('segment', 'score', 'label')}


def _plain_results_columns(data):
    """The whole results body as columns when every item of every video is plain.

    Plain: ``{"segment": [s, e], "score": x}`` (+ ``"label": str``) with no other key,
    numbers (int / float) of magnitude < 2**63 and ``s <= e``, the same fields in every
    item. Returns None otherwise (the per-video readers then decide). Returns
    ``dict(vids, sizes (V,), segments (N, 2) float64, scores (N,) float64,
    labels [str] * N or None, n_keys, n_lists)``, items in file order; ``n_keys`` and
    ``n_lists`` count every dict key and list of ``data``, ``n_colons`` / ``n_brackets``
    the ``:`` / ``[`` in all its strings (the proof walk of
    :func:`mmloc.utils.io.parse_json_unique`: all values were looked at, by type).
    """
    if type(data) is not dict:
        return None
    results = data.get('results', data)
    if type(results) is not dict:
        return None
    others = [v for k, v in data.items() if k != 'results'] if results is not data else []
    other = count_json_containers(others)   # version, external_data, ...
    videos = list(results.values())
    if other is None or not set(map(type, videos)) <= {list}:
        return None
    items = list(itertools.chain.from_iterable(videos))
    lengths = set(map(len, items)) if set(map(type, items)) <= {dict} else None
    if not items or lengths is None or len(lengths) != 1 or min(lengths) not in _PLAIN_FIELDS:
        return None
    fields = _PLAIN_FIELDS[min(lengths)]
    try:
        columns = [list(map(operator.itemgetter(f), items)) for f in fields]
    except KeyError:
        return None
    segments, scores = columns[0], columns[1]
    labels = columns[2] if len(fields) == 3 else None
    if labels is not None and set(map(type, labels)) != {str}:
        return None
    numbers = _plain_number_columns(segments, scores)
    if numbers is None:
        return None
    seg, score = numbers
    n = len(items)
    # the strings of the tree: top-level keys, video ids, labels (item keys are the fields)
    text = ''.join(itertools.chain(data if results is not data else (), results, labels or ()))
    return dict(vids=list(results), sizes=np.fromiter(map(len, videos), np.int64, len(videos)),
                segments=seg, scores=score, labels=labels,
                n_keys=len(data) * (results is not data) + len(results) + len(fields) * n
                + other[0], n_lists=len(videos) + n + other[1] - 1,
                n_colons=text.count(':') + other[2], n_brackets=text.count('[') + other[3])


class _ResultsWalk:
    """``count`` for :func:`load_json` on a results file: the columnar read of
    :func:`_plain_results_columns` is the proof walk, and is kept for the reader."""

    def __init__(self) -> None:
        self.data = self.columns = None

    def __call__(self, data):
        columns = _plain_results_columns(data)
        if columns is None:
            return count_json_containers(data)
        self.data, self.columns = data, columns
        return tuple(columns[k] for k in ('n_keys', 'n_lists', 'n_colons', 'n_brackets'))


def _split_columns(columns: dict, blocked: set, label_codes: bool = False) -> dict:
    """:func:`read_results` output from :func:`_plain_results_columns` or
    :func:`~.results_scan.scan_results_bytes` (views into the columns; blocked videos
    dropped); ``label_codes``: with the scanner's codes (see :func:`read_results`)."""
    out = {}
    ends = np.cumsum(columns['sizes']).tolist()
    labels = columns['labels']
    codes = columns.get('label_codes') if label_codes else None
    segments, scores, names = columns['segments'], columns['scores'], columns.get('label_names')
    for vid, a, b in zip(columns['vids'], [0] + ends[:-1], ends):
        if blocked and (vid in blocked or (vid.startswith('v_') and vid[2:] in blocked)):
            continue
        record = {'segments': segments[a:b], 'scores': scores[a:b],
                  'labels': labels[a:b] if labels is not None and b > a else None}
        if codes is not None:
            record['label_codes'], record['label_names'] = codes[a:b], names
        out[vid] = record
    return out


@collector_paused
def read_results(source, require_label: bool = False,
                 blocked: Iterable[str] | None = None, label_codes: bool = False) -> dict:
    """Read proposal or detection results (ours, MMAction2's or the official submission).

    Returns:
        ``{video_id: {'segments': (P, 2) float64 s, 'scores': (P,) float64,
        'labels': [str|int] * P or None}}`` with ids as written in the file. With
        ``label_codes``, records read by the compiled scanner also hold ``'label_codes'``
        ((P,) int64) and ``'label_names'`` (the file's distinct labels, one list shared by
        all records): ``labels[i] == label_names[label_codes[i]]``, so a metric maps the
        few names instead of every item.

    Items need a ``[start, end]`` segment (finite, ``start <= end``) and a finite score;
    labels are class names or integer indices (checked against the GT classes by the
    metrics). Two ids that differ only by ``v_`` are an error.
    """
    # a plain file straight from its bytes (results_scan), else through its JSON tree
    columns = scan_results_file(source)
    if columns is not None and (columns['labels'] is not None or not require_label):
        check_video_ids(columns['vids'], os.fspath(source))
        return _split_columns(columns, set(blocked or ()), label_codes)
    walk = _ResultsWalk()
    data, name = _source(source, '<results>', walk)
    if walk.data is not data:   # not proven: json read the file, drop orjson's tree now
        walk.data = walk.columns = None
    if not isinstance(data, dict):
        raise FormatError(f'{name}: expected a JSON object, got {type(data).__name__}')
    results = data.get('results', data)
    if not isinstance(results, dict):
        raise FormatError(f'{name}: "results" must map video ids to lists of items')
    if not results:
        raise FormatError(f'{name}: "results" is empty')
    check_video_ids(results, name)
    blocked = set(blocked or ())
    # the whole file in one columnar pass when every item is plain (what writers produce)
    columns = walk.columns if walk.columns is not None else _plain_results_columns(data)
    if columns is not None and (columns['labels'] is not None or not require_label):
        return _split_columns(columns, blocked)
    out = {}
    for vid, items in track(results.items(), len(results), f'reading {name}'):
        where = f'{name}: video {vid}'
        if vid in blocked or (vid.startswith('v_') and vid[2:] in blocked):
            continue
        if not isinstance(items, list):
            raise FormatError(f'{where}: expected a list of result items')
        fast = _plain_items(items, require_label)
        if fast is not None:
            out[vid] = dict(segments=fast[0], scores=fast[1], labels=fast[2])
            continue
        segments, scores, labels = [], [], []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or 'segment' not in item or 'score' not in item:
                raise FormatError(f'{where}: item {i} needs "segment" and "score"')
            segments.append(_segment(item['segment'], f'{where} item {i}'))
            scores.append(check_number(item['score'], f'{where} item {i}: "score"'))
            if 'label' in item:
                labels.append(check_label(item['label'], f'{where} item {i}: "label"'))
            elif require_label:
                raise FormatError(f'{where}: item {i} has no "label" (detection results need one)')
        if labels and len(labels) != len(items):
            raise FormatError(f'{where}: some items have a "label" and some do not')
        out[vid] = dict(segments=np.asarray(segments, dtype=np.float64).reshape(-1, 2),
                        scores=np.asarray(scores, dtype=np.float64),
                        labels=labels if labels else None)
    return out


def align_results_to_gt(results: Mapping, gt: Mapping) -> dict:
    """Re-key ``results`` to the GT's spelling of each video id (``v_`` either way)."""
    out = {}
    for vid, rec in results.items():
        key = match_video_id(vid, gt)
        if key in out:
            raise FormatError(f'results: video {vid} appears twice (with and without "v_")')
        out[key] = rec
    return out


def _any_outside_duration(results: Mapping, gt: Mapping) -> bool:
    """Whether any result segment reaches outside ``[0, duration]`` of its GT video: the
    test of :func:`count_outside_duration` for all videos in one comparison (``(N, 2)``
    segments against their video's duration repeated ``P`` times)."""
    segs, durs, sizes = [], [], []
    for vid, rec in results.items():
        dur = gt.get(vid, {}).get('duration')
        if dur is not None:
            segs.append(rec['segments'])
            durs.append(dur)
            sizes.append(rec['segments'].shape[0])
    if not segs:
        return False
    segs = np.concatenate(segs)
    dur = np.repeat(np.asarray(durs, dtype=np.float64), sizes)
    return bool(((segs[:, 0] < 0) | (segs[:, 1] > dur)).any())


def count_outside_duration(results: Mapping, gt: Mapping, name: str = 'results') -> int:
    """Warn once (naming ``name``) when result segments reach outside ``[0, duration]`` of
    their GT video; returns how many do. They are scored as written (official evaluators)."""
    if not _any_outside_duration(results, gt):
        return 0
    outside = []
    for vid, rec in results.items():
        dur = gt.get(vid, {}).get('duration')
        if dur is None:
            continue
        segs = rec['segments']
        for i in np.flatnonzero((segs[:, 0] < 0) | (segs[:, 1] > dur)):
            outside.append((vid, int(i), segs[i].tolist(), dur))
    warn_outside_duration(name, outside)
    return len(outside)


def clip_results_to_duration(results: Mapping, gt: Mapping) -> int:
    """Clip segments in place to ``[0, duration]`` of their GT video; returns how many changed.

    Used by ``report_map``; a warning is issued when any segment was outside.
    """
    changed = 0
    for vid, rec in results.items():
        dur = gt.get(vid, {}).get('duration')
        if dur is None or rec['segments'].size == 0:
            continue
        clipped = np.clip(rec['segments'], 0.0, dur)
        changed += int(np.any(clipped != rec['segments'], axis=1).sum())
        rec['segments'] = clipped
    if changed:
        warnings.warn(f'{changed} segments were outside their video duration and were clipped')
    return changed


def results_to_json(results: Mapping, external_data: dict | None = None) -> dict:
    """Build the §1.5 / official JSON object.

    ``results``: ``{video_id: {'segments' (P, 2), 'scores' (P,), 'labels' (optional)}}``.
    Items are ``{"score", "segment", ("label")}`` in the given order.
    """
    body = {}
    for vid, rec in results.items():
        segments = np.asarray(rec['segments'], dtype=np.float64).reshape(-1, 2)
        scores = np.asarray(rec['scores'], dtype=np.float64).reshape(-1)
        labels = rec.get('labels')
        items = []
        for i in range(segments.shape[0]):
            item = {'score': float(scores[i]),
                    'segment': [float(segments[i, 0]), float(segments[i, 1])]}
            if labels is not None:
                lab = labels[i]
                item['label'] = lab.item() if isinstance(lab, np.generic) else lab
            items.append(item)
        body[vid] = items
    return {'version': RESULTS_VERSION, 'results': body,
            'external_data': {} if external_data is None else external_data}


def write_results(path, results: Mapping, external_data: dict | None = None) -> None:
    """Write :func:`results_to_json` atomically."""
    atomic_write_json(path, results_to_json(results, external_data))


# ----------------------------------------------------------------------------- annotations
def read_mmaction_annotations(source) -> dict:
    """MMAction2 annotation JSON (§1.2) as ``{video_name: record}`` (ids keep ``v_``).

    Every record is checked as :func:`read_ground_truth` checks it, and needs a positive
    ``duration_second``; ``duration_frame`` and ``fps``, when present, are positive numbers.
    """
    data, name = _source(source, '<annotations>')
    if not isinstance(data, dict) or 'database' in data:
        raise FormatError(f'{name}: expected an MMAction2 annotation JSON '
                          '({"v_<id>": {"duration_second", "annotations", ...}})')
    if not data:
        raise FormatError(f'{name}: the annotation file holds no videos')
    check_video_ids(data, name)
    outside = []
    for vid, rec in data.items():
        where = f'{name}: video {vid}'
        for field in ('duration_second', 'annotations'):
            if not isinstance(rec, dict) or field not in rec:
                raise FormatKeyError(f'{where}: missing field "{field}"')
        _gt_record(rec, where, outside, vid)
        for field in ('duration_frame', 'fps'):
            if field in rec:
                check_number(rec[field], f'{where}: "{field}"', positive=True)
    warn_outside_duration(name, outside)
    return data


# ----------------------------------------------------------------------------- classifier
def read_classifier_results(source) -> dict:
    """Video-level class scores: ``{video_id: (labels [str] * C, scores (C,) float64)}``.

    Layouts: ``{"results": {id: [{"label", "score"}]}}``, G-TAD/OpenTAD's
    ``{"results": {id: [C floats]}, "class": [C distinct names]}``, or ``{"results": {id: [C
    floats]}}`` (ActionFormer's CUHK file; the labels are then the indices 0..C-1). Scores are
    finite numbers.
    """
    data, name = _source(source, '<classifier results>')
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise FormatError(f'{name}: expected {{"results": {{video_id: ...}}}}')
    if not data['results']:
        raise FormatError(f'{name}: "results" is empty')
    check_video_ids(data['results'], name)
    class_list = data.get('class')
    if class_list is not None:
        if not isinstance(class_list, list) or not class_list:
            raise FormatError(f'{name}: "class" must be a non-empty list of class names')
        class_list = [check_label(c, f'{name}: "class" entry {i}')
                      for i, c in enumerate(class_list)]
        if len(set(class_list)) != len(class_list):
            twice = sorted({str(c) for c in class_list if class_list.count(c) > 1})
            raise FormatError(f'{name}: "class" lists {twice[:5]} more than once')
    out = {}
    for vid, items in data['results'].items():
        where = f'{name}: video {vid}'
        if class_list is not None:
            if not isinstance(items, list) or len(items) != len(class_list):
                got = len(items) if isinstance(items, list) else type(items).__name__
                raise FormatError(f'{where}: expected a list of {len(class_list)} scores (one '
                                  f'per class), got {got}')
            scores = [check_number(x, f'{where} score {c}') for c, x in enumerate(items)]
            out[vid] = (list(class_list), np.asarray(scores, dtype=np.float64))
            continue
        if isinstance(items, list) and items and all(
                isinstance(it, (int, float)) for it in items):
            # plain score lists without a "class" list: classes are the indices
            scores = [check_number(x, f'{where} score {c}') for c, x in enumerate(items)]
            out[vid] = (list(range(len(items))), np.asarray(scores, dtype=np.float64))
            continue
        if not isinstance(items, list) or not all(
                isinstance(it, dict) and 'label' in it and 'score' in it for it in items):
            raise FormatError(f'{where}: expected a list of {{"label", "score"}} items')
        out[vid] = ([check_label(it['label'], f'{where} item {i}: "label"')
                     for i, it in enumerate(items)],
                    np.asarray([check_number(it['score'], f'{where} item {i}: "score"')
                                for i, it in enumerate(items)], dtype=np.float64))
    return out


# ----------------------------------------------------------------------------- proposal text
def format_proposal_text_block(index: int, video_id: str, duration_frame, fps,
                               gt_lines: list, proposal_lines: list) -> str:
    """One §1.8 block. ``gt_lines``: (class_idx, start_s, end_s); ``proposal_lines``:
    (label, best_iou, best_overlap, start_s, end_s). Times are written with Python's float repr."""
    lines = [f'#{index}', str(video_id), str(duration_frame), str(fps), str(len(gt_lines))]
    lines += [f'{int(c)} {float(s)!r} {float(e)!r}' for c, s, e in gt_lines]
    lines.append(str(len(proposal_lines)))
    for label, iou, overlap, s, e in proposal_lines:
        if iou == 0 and overlap == 0:
            lines.append(f'0 0 0 {float(s)!r} {float(e)!r}')
        else:
            lines.append(f'{int(label)} {float(iou)!r} {float(overlap)!r} {float(s)!r} {float(e)!r}')
    return '\n'.join(lines) + '\n'


def _text_floats(line: str, n: int, where: str) -> list[float]:
    """``n`` whitespace-separated finite numbers of a proposal-text line."""
    fields = line.split()
    if len(fields) != n:
        raise FormatError(f'{where}: expected {n} numbers, got {line!r}')
    try:
        values = [float(x) for x in fields]
    except ValueError:
        raise FormatError(f'{where}: expected {n} numbers, got {line!r}') from None
    if not all(np.isfinite(values)):
        raise FormatError(f'{where}: numbers must be finite, got {line!r}')
    return values


def _text_count(line: str, where: str) -> int:
    try:
        count = int(line)
    except ValueError:
        raise FormatError(f'{where} must be a count, got {line!r}') from None
    if count < 0:
        raise FormatError(f'{where} must be >= 0, got {count}')
    return count


def _text_row(line: str, n: int, where: str) -> list[float]:
    """A GT (``n=3``) or proposal (``n=5``) row: class index integer >= 0, ``start <= end``,
    ``best_iou`` / ``best_overlap`` in [0, 1]."""
    row = _text_floats(line, n, where)
    if not (row[0].is_integer() and row[0] >= 0):
        raise FormatError(f'{where}: the class index must be an integer >= 0, got {line!r}')
    if row[-1] < row[-2]:
        raise FormatError(f'{where}: the segment ends before it starts: {line!r}')
    if n == 5 and not (0 <= row[1] <= 1 and 0 <= row[2] <= 1):
        raise FormatError(f'{where}: best_iou and best_overlap must be in [0, 1], got {line!r}')
    return row


def parse_proposal_text(path) -> list[dict]:
    """Read a §1.8 (or §1.7) proposal text file.

    Returns one dict per block: ``video_id``, ``duration_frame`` and ``fps`` (as written;
    both positive numbers), ``gt`` (G, 3) ``[class_idx, start, end]`` and ``proposals``
    (P, 5) ``[label, best_iou, best_overlap, start, end]`` (float64). Times are in the
    file's own unit (seconds in §1.8, frames or fractions in §1.7), so they are not
    compared with the duration. Text outside a block, a count that does not match its
    lines and a video listed twice (also once with and once without ``v_``) are errors.
    """
    path = os.fspath(path)
    text = read_utf8_text(path)
    blocks, cur = [], None
    for n, ln in enumerate(text.splitlines(), 1):
        ln = ln.strip()
        if ln.startswith('#'):
            cur = []
            blocks.append(cur)
        elif ln and cur is None:
            raise FormatError(f'{path}: line {n}: text before the first "#" block: {ln!r}')
        elif ln:
            cur.append(ln)
    out = []
    for b, block in enumerate(blocks):
        where = f'{path}: block {b}'
        if len(block) < 5:
            raise FormatError(f'{where}: needs the video id, duration_frame, fps and two '
                              f'counts, got {len(block)} lines')
        video_id, duration_frame, fps = block[0], block[1], block[2]
        where = f'{where} (video {video_id})'
        for field, value in (('duration_frame', duration_frame), ('fps', fps)):
            try:
                number = float(value)
            except ValueError:
                number = float('nan')
            if not (np.isfinite(number) and number > 0):
                raise FormatError(f'{where}: {field} must be a positive number, got {value!r}')
        n_gt = _text_count(block[3], f'{where}: the GT count')
        if len(block) < 5 + n_gt:
            raise FormatError(f'{where}: {n_gt} GT lines announced, the block ends before')
        gt = [_text_row(ln, 3, f'{where} GT {i}') for i, ln in enumerate(block[4:4 + n_gt])]
        n_prop = _text_count(block[4 + n_gt], f'{where}: the proposal count')
        props = [_text_row(ln, 5, f'{where} proposal {i}')
                 for i, ln in enumerate(block[5 + n_gt:])]
        if len(props) != n_prop:
            raise FormatError(f'{where}: {n_prop} proposals announced, {len(props)} lines found')
        out.append(dict(video_id=video_id, duration_frame=duration_frame, fps=fps,
                        gt=np.asarray(gt, dtype=np.float64).reshape(-1, 3),
                        proposals=np.asarray(props, dtype=np.float64).reshape(-1, 5)))
    if not out:
        raise FormatError(f'{path}: no "#" block found')
    check_video_ids([b['video_id'] for b in out], path)
    return out


def write_text(path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def read_class_index(path) -> dict[str, int]:
    """Class name -> 0-based index from a text file (one name per line; a header line
    ``action`` as in BSN's ``action_name.csv`` is skipped). A name listed twice is an error."""
    path = os.fspath(path)
    names = [ln.strip() for ln in read_utf8_text(path).splitlines() if ln.strip()]
    if names and names[0] == 'action':
        names = names[1:]
    if not names:
        raise FormatError(f'{path}: no class names')
    index: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in index:
            raise FormatError(f'{path}: class {n!r} is listed twice (lines {index[n] + 1} and '
                              f'{i + 1} of the names)')
        index[n] = i
    return index


def build_proposal_text(annotations: Mapping, results: Mapping, class_index: Mapping[str, int],
                        mmaction2_tiebreak: bool = False) -> str:
    """The §1.8 SSN/P-GCN text for every annotated video (annotation-file order).

    Args:
        annotations: MMAction2 annotation dict (``v_<id>`` keys, ``duration_frame``, ``fps``,
            ``annotations``).
        results: :func:`read_results` output (ids with or without ``v_``).
        class_index: class name -> 0-based index.
        mmaction2_tiebreak: reproduce MMAction2's rule that treats class 0 as background when
            the argmax-IoU and argmax-overlap GTs disagree (spec §8 row 17). By default the
            argmax-IoU GT's class is used whenever ``best_iou > 0``, else the argmax-overlap one.

    Times stay in seconds (Python float repr); ``best_iou``/``best_overlap`` are float32.
    """
    from mmloc.structures.segment_ops import pairwise_temporal_iop, pairwise_temporal_iou
    blocks = []
    for k, (name, rec) in enumerate(annotations.items()):
        where = f'annotations: video {name}'
        for field in ('duration_frame', 'fps'):
            if field not in rec:
                raise FormatError(f'{where}: missing field "{field}" (use the files written by '
                                  'process_annotations.py)')
        vid = name[2:] if name.startswith('v_') else name
        gt_seg = np.asarray([a['segment'] for a in rec['annotations']], np.float64).reshape(-1, 2)
        try:
            gt_cls = [class_index[a['label']] for a in rec['annotations']]
        except KeyError as err:
            raise FormatError(f'{where}: class {err.args[0]!r} is not in the class index') from None
        res = results.get(vid, results.get(name))
        segs = np.zeros((0, 2)) if res is None else res['segments']
        lines = []
        if segs.shape[0] and gt_seg.shape[0]:
            iou = pairwise_temporal_iou(segs, gt_seg).astype(np.float32)
            iop = pairwise_temporal_iop(segs, gt_seg).astype(np.float32)
            for p in range(segs.shape[0]):
                i_cls, o_cls = gt_cls[int(iou[p].argmax())], gt_cls[int(iop[p].argmax())]
                if mmaction2_tiebreak:
                    label = o_cls if (i_cls != o_cls and i_cls == 0) else i_cls
                else:
                    label = i_cls if iou[p].max() > 0 else o_cls
                lines.append((label, iou[p].max(), iop[p].max(), segs[p, 0], segs[p, 1]))
        else:
            lines = [(0, 0, 0, s, e) for s, e in segs]
        blocks.append(format_proposal_text_block(
            k, vid, rec['duration_frame'], rec['fps'],
            [(c, s, e) for c, (s, e) in zip(gt_cls, gt_seg)], lines))
    return ''.join(blocks)
