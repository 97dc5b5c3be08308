"""Matplotlib figures: AR-AN curves and proposal timelines (saved as PNG).

Figures are :class:`matplotlib.figure.Figure` objects drawn without pyplot, so they need no
GUI backend and leave matplotlib's global state (backend, pyplot's figure list) as it is.
matplotlib is imported when a figure is drawn: a training process that draws none does not
carry it (~30 MiB).
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=None, squeeze: bool = True,
               gridspec_kw: dict | None = None):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot (no backend involved)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze, gridspec_kw=gridspec_kw)


def plot_ar_an(curves: Mapping[str, Mapping], out_file: str,
               tiou_thresholds: Sequence[float] | None = None) -> str:
    """Plot AR vs. average number of proposals (and AR vs. tIoU at AN=100).

    Args:
        curves: ``{name: metrics}`` where ``metrics`` is the dict returned by
            :func:`mmloc.evaluation.functional.average_recall_at_avg_proposals`
            (``proposals_per_video`` (N,), ``avg_recall`` (N,), ``recall`` (n_thr, N),
            ``auc``).
        out_file: PNG path (folders are created).
        tiou_thresholds: (n_thr,) thresholds of ``recall``'s rows, for the second panel.

    Returns:
        ``out_file``.
    """
    fig, axes = new_figure(1, 2 if tiou_thresholds is not None else 1, figsize=(11, 4.5),
                           squeeze=False)
    ax = axes[0, 0]
    for name, m in curves.items():
        ax.plot(m['proposals_per_video'], m['avg_recall'], linewidth=2,
                label=f'{name} (AUC {m["auc"]:.2f})')
    ax.set_xlabel('Average number of proposals per video (AN)')
    ax.set_ylabel('Average recall (AR), tIoU 0.5:0.05:0.95')
    ax.set_title('AR-AN curve')
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right')
    if tiou_thresholds is not None:
        ax = axes[0, 1]
        for name, m in curves.items():
            ax.plot(tiou_thresholds, np.asarray(m['recall'])[:, -1], marker='o', label=name)
        ax.set_xlabel('tIoU threshold')
        ax.set_ylabel('Recall at the largest AN')
        ax.set_title('Recall vs. tIoU')
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
        ax.legend(loc='lower left')
    fig.tight_layout()
    _save(fig, out_file)
    return out_file


def plot_proposal_timeline(gt_segments_s: np.ndarray, proposal_segments_s: np.ndarray,
                           proposal_scores: np.ndarray, duration_s: float, out_file: str,
                           title: str = '', top_k: int = 10,
                           gt_labels: Sequence[str] | None = None) -> str:
    """Timeline of ground truth vs. the top-k proposals of one video.

    Args:
        gt_segments_s: (G, 2) ground truth in seconds.
        proposal_segments_s: (P, 2) proposals in seconds.
        proposal_scores: (P,) scores; the top ``top_k`` are drawn, colour and alpha by score.
        duration_s: video length in seconds (x-axis range).
        out_file: PNG path.
    """
    order = np.argsort(-np.asarray(proposal_scores))[:top_k]
    props = np.asarray(proposal_segments_s)[order]
    scores = np.asarray(proposal_scores)[order]
    gts = np.asarray(gt_segments_s).reshape(-1, 2)
    rows = len(props) + 1
    fig, ax = new_figure(figsize=(10, 0.45 * rows + 1.4))
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    cmap = matplotlib.colormaps['viridis']
    for i, (s, e) in enumerate(gts):
        ax.barh(rows - 1, e - s, left=s, height=0.7, color='tab:red', alpha=0.8,
                label='ground truth' if i == 0 else None)
        if gt_labels is not None and i < len(gt_labels):
            ax.text((s + e) / 2, rows - 1, gt_labels[i], ha='center', va='center', fontsize=7,
                    color='white')
    smax = max(float(scores.max()) if len(scores) else 1.0, 1e-12)
    for i, ((s, e), sc) in enumerate(zip(props, scores)):
        ax.barh(rows - 2 - i, e - s, left=s, height=0.6, color=cmap(sc / smax),
                alpha=0.35 + 0.65 * sc / smax)
        ax.text(e, rows - 2 - i, f' {sc:.3f}', va='center', fontsize=7)
    ax.set_yticks(range(rows))
    ax.set_yticklabels([f'#{rows - 1 - r}' for r in range(rows - 1)] + ['GT'])
    ax.set_xlim(0, duration_s)
    ax.set_xlabel('time (s)')
    ax.set_ylabel('proposal rank')
    ax.set_title(title or 'ground truth vs. top proposals')
    sm = ScalarMappable(cmap=cmap, norm=Normalize(0, smax))
    fig.colorbar(sm, ax=ax, label='proposal score')
    if len(gts):
        ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    _save(fig, out_file)
    return out_file


def _save(fig, out_file: str) -> None:
    folder = os.path.dirname(os.path.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    tmp = out_file + '.tmp.png'
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out_file)
