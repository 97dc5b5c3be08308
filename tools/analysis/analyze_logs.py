"""Training curves and timing from mmengine's scalar logs.

mmengine writes them to ``<work_dir>/<timestamp>/vis_data/scalars.json``.

Examples:
    python tools/analysis/analyze_logs.py plot_curve work_dirs/demo/*/vis_data/scalars.json \
        --keys loss tem pem_reg pem_cls --out work_dirs/demo/loss.png
    python tools/analysis/analyze_logs.py plot_curve run1/scalars.json run2/scalars.json \
        --keys auc --legend run1 run2 --out auc.png
    python tools/analysis/analyze_logs.py cal_train_time work_dirs/demo/*/vis_data/scalars.json

The file holds one JSON object per line. Training lines carry ``epoch``, ``iter`` and
``step`` (the global iteration); validation lines carry the metrics and ``step`` (the epoch,
for epoch-based training). A key is plotted against the ``step`` of the lines that hold it:
training keys against iterations, validation keys against epochs.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars against iterations / epochs')
    plot.add_argument('json_logs', nargs='+', help='scalars.json file(s)')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot')
    plot.add_argument('--legend', nargs='+', help='one name per (log, key) or per log')
    plot.add_argument('--title', default='', help='figure title')
    plot.add_argument('--out', required=True, help='PNG file')
    timing = sub.add_parser('cal_train_time', help='mean / slowest / fastest iteration time')
    timing.add_argument('json_logs', nargs='+', help='scalars.json file(s)')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first logged iteration of each epoch')
    return parser.parse_args(argv)


def load_scalars(path):
    """``{'train': [dict], 'val': [dict]}``: the lines of a scalars.json, split by kind.

    A line is a training line when it has ``iter`` (mmengine writes ``epoch``/``iter`` only
    for training); every line needs ``step``.
    """
    out = {'train': [], 'val': []}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{lineno}: not a JSON object ({err})') from None
            if not isinstance(rec, dict) or 'step' not in rec:
                raise ValueError(f'{path}:{lineno}: expected a JSON object with "step"')
            out['train' if 'iter' in rec else 'val'].append(rec)
    if not out['train'] and not out['val']:
        raise ValueError(f'{path}: no scalar lines')
    return out


def curve(scalars, key):
    """``(steps (N,), values (N,), kind)`` of ``key``; kind 'train' (x = iteration) or 'val'
    (x = epoch). Training keys win when a key is logged in both."""
    for kind in ('train', 'val'):
        rows = [r for r in scalars[kind] if key in r]
        if rows:
            return (np.asarray([r['step'] for r in rows], dtype=np.float64),
                    np.asarray([r[key] for r in rows], dtype=np.float64), kind)
    known = sorted({k for kind in scalars.values() for r in kind for k in r})
    raise KeyError(f'key {key!r} is not in the log (logged keys: {known})')


def plot_curves(logs, keys, out_file, legend=None, title=''):
    """One panel per key; each log is one line. ``logs``: ``[(name, scalars)]``."""
    from mmloc.visualization.plots import _save, new_figure
    n = len(logs) * len(keys)
    if legend is not None and len(legend) not in (n, len(logs)):
        raise ValueError(f'--legend needs {len(logs)} names (one per log) or {n} '
                         f'(one per log and key), got {len(legend)}')
    fig, axes = new_figure(1, len(keys), figsize=(5.2 * len(keys), 4), squeeze=False)
    for k, (ax, key) in enumerate(zip(axes[0], keys)):
        kinds = set()
        for i, (name, scalars) in enumerate(logs):
            steps, values, kind = curve(scalars, key)
            kinds.add(kind)
            if legend is None:
                label = name if len(logs) > 1 else key
            else:
                label = legend[i] if len(legend) == len(logs) else legend[i * len(keys) + k]
            ax.plot(steps, values, marker='o' if kind == 'val' else None, markersize=3,
                    linewidth=1.5, label=label)
        ax.set_xlabel(' / '.join(sorted('iteration' if k_ == 'train' else 'epoch'
                                        for k_ in kinds)))
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, out_file)
    return out_file


def train_time(scalars, include_outliers=False):
    """Per-iteration ``time`` of the training lines: dict with mean / std / slowest /
    fastest epoch means. The first logged line of each epoch is dropped by default (it
    includes data-loader start-up)."""
    by_epoch = {}
    for r in scalars['train']:
        if 'time' in r:
            by_epoch.setdefault(r.get('epoch', 0), []).append(float(r['time']))
    if not include_outliers:
        by_epoch = {e: t[1:] for e, t in by_epoch.items() if len(t) > 1}
    if not by_epoch:
        raise ValueError('no training iteration times in the log')
    means = {e: float(np.mean(t)) for e, t in by_epoch.items()}
    all_times = np.concatenate([np.asarray(t) for t in by_epoch.values()])
    return dict(mean=float(all_times.mean()), std=float(all_times.std()),
                slowest_epoch=max(means, key=means.get), fastest_epoch=min(means, key=means.get),
                epoch_means=means)


def main(argv=None):
    args = parse_args(argv)
    logs = [(path, load_scalars(path)) for path in args.json_logs]
    if args.task == 'plot_curve':
        names = [osp.basename(osp.dirname(osp.dirname(p))) or p for p, _ in logs]
        out = plot_curves(list(zip(names, (s for _, s in logs))), args.keys, args.out,
                          args.legend, args.title)
        print(f'figure: {out}')
        return out
    stats = {}
    for path, scalars in logs:
        st = train_time(scalars, args.include_outliers)
        stats[path] = st
        print(f'{path}\n  average iteration time: {st["mean"]:.4f} s (std {st["std"]:.4f})\n'
              f'  slowest epoch {st["slowest_epoch"]}: {st["epoch_means"][st["slowest_epoch"]]:.4f}'
              f' s/iter, fastest epoch {st["fastest_epoch"]}: '
              f'{st["epoch_means"][st["fastest_epoch"]]:.4f} s/iter')
    print(json.dumps({p: {k: v for k, v in s.items() if k != 'epoch_means'}
                      for p, s in stats.items()}))
    return stats


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
