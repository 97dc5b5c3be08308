"""BSN intermediate files (spec §1.6) and ``LoadProposals`` (spec §2.2).

The three formats live here, readers and writers side by side, so that the TEM metric,
the PGM driver and the PEM pipeline agree on them:

* TEM results ``<video_name>.csv``: header ``action,start,end,tmin,tmax``, T rows.
* PGM proposals ``<video_name>.csv``: header ``tmin,tmax,tmin_score,tmax_score,score,
  match_iou,match_ioa``, rows sorted by score descending. Times are normalised.
* BSP features ``<video_name>.npy``: float64 (K, 32), row r describes proposal row r.

Writers are atomic (temp file + rename), values use numpy's default ``%.18e``.
"""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.utils.float_csv import parse_plain_float_rows
from mmloc.utils.io import atomic_save_npy, atomic_savetxt, load_npy
from mmloc.utils.validation import FormatError, check_array, warn_outside_duration

TEM_COLUMNS = ('action', 'start', 'end', 'tmin', 'tmax')
PROPOSAL_COLUMNS = ('tmin', 'tmax', 'tmin_score', 'tmax_score', 'score', 'match_iou',
                    'match_ioa')


def _read_csv_table(path: str, columns: tuple, what: str, hint: str = '',
                    max_rows: Optional[int] = None) -> np.ndarray:
    """Read a headed CSV as float32 (N, len(columns)); checks the header, the column count
    and that every value is finite (a value beyond float32's range reads as Inf).

    ``max_rows`` stops parsing after that many data rows (proposal files are sorted, and
    PEM only needs the first ``top_k``).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: {what} file not found{hint}')
    with open(path, 'rb') as f:
        raw = f.read()
    first, _, rest = raw.partition(b'\n')
    try:
        header = first.decode('utf-8').strip()
    except UnicodeDecodeError as e:
        raise FormatError(f'{path}: {what} file is not UTF-8 encoded ({e})') from None
    names = tuple(h.strip().lstrip('#').strip() for h in header.split(','))
    if names != columns:
        raise FormatError(f'{path}: {what} file must have the header {",".join(columns)!r} '
                          f'({len(columns)} columns), got {header!r}')
    rows = parse_plain_float_rows(rest, len(columns), max_rows)
    if rows is not None:                  # plain rows: the fast path, same bits as loadtxt
        with np.errstate(over='ignore'):  # beyond float32's range: Inf, refused below
            table = rows.astype(np.float32)
        return check_array(table, path, f'{what} file') if table.size else table
    try:
        # ndmin=2 keeps a one-row file 2-D (MMAction2 breaks on it).
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)   # "input contained no data"
            table = np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1, ndmin=2,
                               max_rows=max_rows, encoding='utf-8')
    except ValueError as e:   # UnicodeDecodeError is a ValueError
        raise FormatError(f'{path}: cannot parse {what} file, expected rows of '
                          f'{len(columns)} comma-separated floats ({e})') from None
    if table.size == 0:
        return np.zeros((0, len(columns)), dtype=np.float32)
    if table.shape[1] != len(columns):
        raise FormatError(f'{path}: {what} file must have {len(columns)} columns '
                          f'({",".join(columns)}), got {table.shape[1]}')
    return check_array(table, path, f'{what} file')


def _check_positions(table: np.ndarray, path: str, what: str) -> None:
    """Columns 3, 4 (TEM) / 0, 1 (PGM) are ``[tmin, tmax]`` normalised positions:
    ``tmin <= tmax`` is required; outside ``[0, 1]`` is accepted with one warning."""
    lo, hi = (3, 4) if table.shape[1] == len(TEM_COLUMNS) else (0, 1)
    bad = np.flatnonzero(table[:, hi] < table[:, lo])
    if bad.size:
        r = int(bad[0])
        raise FormatError(f'{path}: {what} file row {r}: "tmax" {table[r, hi]} is before '
                          f'"tmin" {table[r, lo]} ({bad.size} such row(s))')
    out = np.flatnonzero((table[:, lo] < 0) | (table[:, hi] > 1))
    warn_outside_duration(path, [(osp.splitext(osp.basename(path))[0], f'row {int(r)}',
                                  table[r, [lo, hi]].tolist(), 1) for r in out], field='1')


def read_tem_results(path: str) -> np.ndarray:
    """TEM result CSV -> float32 (T, 5) ``[action, start, end, tmin, tmax]``, at least 2
    rows, every value finite, ``tmin <= tmax``."""
    table = _read_csv_table(path, TEM_COLUMNS, 'TEM result',
                            hint=' (run the TEM test first: tools/test.py <tem config> <ckpt>)')
    if len(table) < 2:
        raise FormatError(f'{path}: TEM result file must have at least 2 rows, got {len(table)}')
    _check_positions(table, path, 'TEM result')
    return table


def write_tem_results(path: str, tem: np.ndarray) -> None:
    """Write (T, 5) TEM output atomically (spec §1.6a)."""
    tem = np.asarray(tem)
    if tem.ndim != 2 or tem.shape[1] != len(TEM_COLUMNS):
        raise ValueError(f'{path}: TEM output must have shape (T, 5), got {tem.shape}')
    atomic_savetxt(path, tem, header=','.join(TEM_COLUMNS), delimiter=',', comments='')


def read_proposals(path: str, max_rows: Optional[int] = None) -> np.ndarray:
    """PGM proposal CSV -> float32 (K, 7) (columns of ``PROPOSAL_COLUMNS``), first ``max_rows``;
    every value finite, ``tmin <= tmax``."""
    table = _read_csv_table(path, PROPOSAL_COLUMNS, 'PGM proposal',
                            hint=' (run tools/misc/bsn_proposal_generation.py first)',
                            max_rows=max_rows)
    _check_positions(table, path, 'PGM proposal')
    return table


def write_proposals(path: str, proposals: np.ndarray) -> None:
    """Write (K, 7) proposals atomically (spec §1.6b)."""
    proposals = np.asarray(proposals)
    if proposals.ndim != 2 or proposals.shape[1] != len(PROPOSAL_COLUMNS):
        raise ValueError(f'{path}: proposals must have shape (K, 7), got {proposals.shape}')
    atomic_savetxt(path, proposals, header=','.join(PROPOSAL_COLUMNS), delimiter=',',
                   comments='')


def read_bsp_feature(path: str) -> np.ndarray:
    """BSP feature ``.npy`` -> its (K, D) array (float64 as written); real, finite values."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: BSP feature file not found '
                                '(run tools/misc/bsn_proposal_generation.py first)')
    feat = load_npy(path, 'BSP feature')
    if feat.ndim != 2:
        raise FormatError(f'{path}: BSP features must be a 2-D array (K, 32), got {feat.shape}')
    return check_array(feat, path, 'BSP feature')


def write_bsp_feature(path: str, feature: np.ndarray) -> None:
    """Write (K, D) BSP features atomically as float64 ``.npy`` (spec §1.6c)."""
    atomic_save_npy(path, np.asarray(feature, dtype=np.float64))


@TRANSFORMS.register_module()
class LoadProposals(BaseTransform):
    """Load a video's PGM proposals and BSP features (BSN PEM input, spec §2.2).

    Reads ``<pgm_proposals_dir>/<video_name><proposal_ext>`` and
    ``<pgm_features_dir>/<video_name><feature_ext>``, keeps the first ``top_k`` rows of
    each and adds float32 ``(K,)`` arrays ``tmin``, ``tmax``, ``tmin_score``,
    ``tmax_score``, ``reference_temporal_iou`` (column ``match_iou``) and
    ``bsp_feature`` (K, 32).

    In-memory PGM outputs (inference) come as ``results['pgm_proposals']`` (K, 7) and
    ``results['pgm_bsp_feature']`` (K', 32) instead of files, with the same ``top_k`` cut
    and float32 cast.

    Args:
        top_k: proposals kept per video (500 for training, 1000 for testing).
        pgm_proposals_dir: directory of the PGM proposal CSVs.
        pgm_features_dir: directory of the BSP feature files.
        proposal_ext: only ``'.csv'``.
        feature_ext: only ``'.npy'``.
        feat_dim: expected BSP feature width, None skips the check.
    """

    def __init__(self, top_k: int, pgm_proposals_dir: str, pgm_features_dir: str,
                 proposal_ext: str = '.csv', feature_ext: str = '.npy',
                 feat_dim: Optional[int] = None) -> None:
        if proposal_ext != '.csv':
            raise NotImplementedError(f'LoadProposals: only ".csv" proposals are supported, '
                                      f'got proposal_ext={proposal_ext!r}')
        if feature_ext != '.npy':
            raise NotImplementedError(f'LoadProposals: only ".npy" BSP features are supported, '
                                      f'got feature_ext={feature_ext!r}')
        if top_k < 1:
            raise ValueError(f'LoadProposals: top_k must be >= 1, got {top_k}')
        self.top_k = top_k
        self.pgm_proposals_dir = pgm_proposals_dir
        self.pgm_features_dir = pgm_features_dir
        self.proposal_ext = proposal_ext
        self.feature_ext = feature_ext
        self.feat_dim = feat_dim

    def transform(self, results: dict) -> dict:
        video_name = results['video_name']
        if 'pgm_proposals' in results:
            # in memory (the BSN chain of LocalizationInferencer): the same rows and casts
            # as the files would give (the CSV is read back as float32)
            prop_path = feat_path = f'<in-memory PGM output of {video_name}>'
            proposals = np.asarray(results.pop('pgm_proposals'))[:self.top_k].astype(np.float32)
            bsp = np.asarray(results.pop('pgm_bsp_feature'))[:self.top_k].astype(np.float32)
        else:
            prop_path = osp.join(self.pgm_proposals_dir, video_name + self.proposal_ext)
            feat_path = osp.join(self.pgm_features_dir, video_name + self.feature_ext)
            proposals = read_proposals(prop_path, max_rows=self.top_k)
            bsp = read_bsp_feature(feat_path)[:self.top_k].astype(np.float32)
        if len(bsp) != len(proposals):
            raise ValueError(
                f'{feat_path}: video {video_name}: {len(bsp)} BSP feature rows but '
                f'{len(proposals)} proposals in {prop_path} (top_k={self.top_k}); were the '
                'features generated with a smaller top_k? Rerun PGM with --overwrite.')
        if self.feat_dim is not None and bsp.shape[1] != self.feat_dim:
            raise ValueError(f'{feat_path}: video {video_name}: expected {self.feat_dim} BSP '
                             f'feature columns, got {bsp.shape[1]}')
        results['tmin'] = proposals[:, 0]
        results['tmax'] = proposals[:, 1]
        results['tmin_score'] = proposals[:, 2]
        results['tmax_score'] = proposals[:, 3]
        results['reference_temporal_iou'] = proposals[:, 5]
        results['bsp_feature'] = bsp
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(top_k={self.top_k}, '
                f'pgm_proposals_dir={self.pgm_proposals_dir!r}, '
                f'pgm_features_dir={self.pgm_features_dir!r}, '
                f'proposal_ext={self.proposal_ext!r}, feature_ext={self.feature_ext!r})')
