"""Figures of the DETAD diagnosis (:func:`mmloc.evaluation.diagnosis.diagnose` summaries), PNG."""
from __future__ import annotations

import os

import numpy as np

from mmloc.evaluation.diagnosis.false_positives import FP_CATEGORY_NAMES

from .plots import new_figure

#: One colour per false-positive category (colour-blind friendly, DETAD's palette order).
FP_COLORS = {'true_positive': '#33a02c', 'double_detection': '#b2df8a',
             'wrong_label': '#1f78b4', 'localization': '#fb9a99',
             'confusion': '#e31a1c', 'background': '#a6cee3'}
#: Axis text of each characteristic, with its unit.
CHARACTERISTIC_TITLES = {'coverage': 'Coverage\n(length / video duration)',
                         'length': 'Length (seconds)',
                         'num_instances': '# instances per video'}
CHARACTERISTIC_COLORS = {'coverage': '#386cb0', 'length': '#f0027f', 'num_instances': '#bf5b17'}


def _save(fig, out_file: str) -> str:
    folder = os.path.dirname(os.path.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out_file, dpi=110, bbox_inches='tight')
    return out_file


def _pct(values) -> np.ndarray:
    return np.array([np.nan if v is None else 100.0 * v for v in values], dtype=np.float64)


def _edge_text(x) -> str:
    if x is None or not np.isfinite(x):
        return 'inf'
    return f'{x:g}'


def _bucket_ticks(name: str, info: dict) -> list[str]:
    """``XS\\n(0, 30]\\nn=12`` tick labels (the first bucket is closed on the left)."""
    edges = info.get('edges')
    ticks = []
    for i, b in enumerate(info['buckets']):
        text = b
        if edges is not None:
            lo = edges[i]
            if name == 'num_instances' and i == 0 and lo is not None and lo < 1:
                rng = f'<= {_edge_text(edges[1])}'        # [-1, 1] is "one instance"
            else:
                rng = f'{"[" if i == 0 else "("}{_edge_text(lo)}, {_edge_text(edges[i + 1])}]'
            text += '\n' + rng
        text += f'\nn={info["num_gt"][i]}'
        ticks.append(text)
    return ticks


def _subject(summary: dict) -> str:
    what = 'proposals (class-agnostic)' if summary.get('class_agnostic') else 'detections'
    thr = summary['tiou_thresholds']
    t = f'{thr[0]:.2f}' if len(thr) == 1 else f'{thr[0]:.2f}:{thr[-1]:.2f} ({len(thr)} thr.)'
    return f'{what}, tIoU {t}'


def plot_false_positive_analysis(summary: dict, out_file: str, title: str = '') -> str:
    """False-positive profile over the top-KG predictions and the mAP_N gain per error type.

    Args:
        summary: one analysis of :func:`mmloc.evaluation.diagnosis.diagnose`.
        out_file: PNG path (folders are created).
        title: prefix of the figure title.

    Returns:
        ``out_file``.
    """
    fp = summary['false_positive']
    cats = fp['categories']
    shares = np.array([[np.nan if v is None else v for v in row] for row in fp['profile']],
                      dtype=np.float64) * 100.0                                 # (K, n_cat)
    k = shares.shape[0]
    fig, (ax, ax2) = new_figure(1, 2, figsize=(14, 5.2), gridspec_kw=dict(width_ratios=[3, 2]))
    x = np.arange(1, k + 1)
    bottom = np.zeros(k)
    for j, c in enumerate(cats):
        vals = np.nan_to_num(shares[:, j])
        ax.bar(x, vals, bottom=bottom, color=FP_COLORS[c], edgecolor='white', linewidth=0.5,
               label=FP_CATEGORY_NAMES[c])
        bottom += vals
    for i, n in zip(x, fp['group_sizes']):
        if n == 0:
            ax.text(i, 2, 'no\npred.', ha='center', va='bottom', fontsize=8, color='gray')
    ax.set_xticks(x, [f'{i}G' for i in x])
    if summary.get('class_agnostic'):
        ax.set_xlabel('Rank interval of the proposals (all videos)\n'
                      '(kG: ranks (k-1)G+1 .. kG, G = number of GT)')
    else:
        ax.set_xlabel('Rank interval of the predictions in their class\n'
                      '(kG: ranks (k-1)G+1 .. kG, G = number of GT of the class)')
    ax.set_ylabel('Share of predictions (%)')
    ax.set_ylim(0, 100)
    ax.set_title('False-positive profile')
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(loc='upper left', bbox_to_anchor=(0.0, -0.2), ncol=3, fontsize=9, frameon=True)

    errs = cats[1:]
    gains = np.array([100.0 * fp['average_mAP_N_gain'][e] for e in errs])
    bars = ax2.bar(np.arange(len(errs)), gains, color=[FP_COLORS[e] for e in errs],
                   edgecolor='k', linewidth=0.5)
    for b, g in zip(bars, gains):
        ax2.annotate(f'{g:.1f}', (b.get_x() + b.get_width() / 2, max(g, 0)),
                     ha='center', va='bottom', fontsize=9)
    ax2.set_xticks(np.arange(len(errs)), [FP_CATEGORY_NAMES[e] for e in errs], rotation=25,
                   ha='right', fontsize=9)
    ax2.set_xlabel('Error type removed')
    ax2.set_ylabel('Average-mAP$_N$ improvement (percentage points)')
    top = max(1.0, np.nanmax(gains) * 1.2) if gains.size else 1.0
    ax2.set_ylim(min(0.0, np.nanmin(gains) * 1.2) if gains.size else 0.0, top)
    ax2.set_title(f'Removing error impact (top-{fp["limit_factor"]}G average-mAP$_N$ '
                  f'{100 * fp["average_mAP_N_top"]:.1f}%)', fontsize=10)
    ax2.grid(True, axis='y', alpha=0.3)
    fig.suptitle(f'{title + ": " if title else ""}{_subject(summary)}')
    fig.tight_layout()
    return _save(fig, out_file)


def _bucket_panel(ax, summary_part: dict, key: str, ylabel: str, base: float | None,
                  base_label: str, ymax: float = 100.0):
    """Bars of every characteristic's buckets side by side, separated by dotted lines."""
    xpos, ticks, x0 = [], [], 0
    for name, info in summary_part.items():
        if not isinstance(info, dict) or key not in info:
            continue
        vals = _pct(info[key])
        xs = np.arange(x0, x0 + len(vals))
        bars = ax.bar(xs, np.nan_to_num(vals), color=CHARACTERISTIC_COLORS.get(name, 'gray'),
                      label=CHARACTERISTIC_TITLES.get(name, name).replace('\n', ' '))
        for b, v in zip(bars, vals):
            ax.annotate('n/a' if np.isnan(v) else f'{v:.1f}',
                        (b.get_x() + b.get_width() / 2, 0 if np.isnan(v) else v),
                        xytext=(0, 2), textcoords='offset points',
                        ha='center', va='bottom', fontsize=8)
        ax.text(xs.mean(), ymax * 1.02, CHARACTERISTIC_TITLES.get(name, name), ha='center',
                va='bottom', fontsize=10)
        xpos.extend(xs.tolist())
        ticks.extend(_bucket_ticks(name, info))
        if x0:
            ax.axvline(x0 - 1, color='gray', linestyle=':', linewidth=1.2)
        x0 = xs[-1] + 2
    if base is not None:
        ax.axhline(100 * base, color='k', linestyle='--', linewidth=1.2,
                   label=f'{base_label} {100 * base:.1f}%')
    ax.set_xticks(xpos, ticks, fontsize=7.5)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, ymax * 1.12)
    ax.set_xlim(-1, x0 - 1)
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=9)


def plot_sensitivity(summary: dict, out_file: str, title: str = '') -> str:
    """Average-mAP_N per GT bucket (coverage, length, instances per video) vs. the overall one."""
    fig, ax = new_figure(figsize=(17, 5))
    _bucket_panel(ax, summary['sensitivity'], 'average_mAP_N', 'Average-mAP$_N$ (%)',
                  summary['average_mAP_N'], 'all GT:')
    ax.set_xlabel('GT bucket (range, number of GT instances n)')
    fig.suptitle(f'{title + ": " if title else ""}sensitivity, {_subject(summary)}', y=1.02)
    fig.tight_layout()
    return _save(fig, out_file)


def plot_false_negatives(summary: dict, out_file: str, title: str = '') -> str:
    """Share of GT never detected (at tIoU >= alpha, averaged over alphas) per GT bucket."""
    fn = summary['false_negative']
    fig, ax = new_figure(figsize=(17, 5))
    _bucket_panel(ax, fn, 'rate', 'False negatives: GT not detected (%)', fn['overall'],
                  'all GT:')
    ax.set_xlabel('GT bucket (range, number of GT instances n)')
    fig.suptitle(f'{title + ": " if title else ""}false negatives, {_subject(summary)}', y=1.02)
    fig.tight_layout()
    return _save(fig, out_file)


def plot_diagnosis(summary: dict, out_dir: str, prefix: str = '', title: str = '') -> dict:
    """The three figures of one analysis into ``out_dir``; returns ``{figure: path}``."""
    out = {}
    for key, fn in (('false_positive', plot_false_positive_analysis),
                    ('sensitivity', plot_sensitivity), ('false_negative', plot_false_negatives)):
        out[key] = fn(summary, os.path.join(out_dir, f'{prefix}{key}_analysis.png'), title)
    return out
