"""AR-AN curves (and recall vs. tIoU) of one or several results files on one figure.

Examples:
    python tools/analysis/plot_ar_an.py work_dirs/demo/results.json \
        --gt data/synthetic_anet/anet_anno_val.json --out work_dirs/demo/ar_an.png
    python tools/analysis/plot_ar_an.py bmn.json bsn.json --labels BMN BSN \
        --gt data/ActivityNet/anet_anno_val.json --out ar_an_compare.png

Results: ours/MMAction2 ``results.json`` or the official submission; GT: MMAction2 annotation
JSON or the official ActivityNet JSON (``--subset``). Prints each file's AR@1/5/10/100 and AUC;
the last line is one JSON object ``{label: {metric: value}}``.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', nargs='+', help='results JSON file(s)')
    parser.add_argument('--gt', required=True, help='annotation / ground-truth JSON')
    parser.add_argument('--labels', nargs='+', help='legend names (default: file names)')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--subset', default='validation',
                        help='GT subset for files with a "subset" field (default: validation)')
    parser.add_argument('--max-avg-proposals', type=float, default=100,
                        help='AN at the end of the curve (default 100)')
    return parser.parse_args(argv)


def ar_an_curves(result_files, gt_file, labels=None, subset='validation',
                 max_avg_proposals=100):
    """``{label: metrics}``, the dicts of ``average_recall_at_avg_proposals`` (curves
    included), in file order; ids match with or without ``v_`` as in ``eval_metric.py``."""
    from mmloc.evaluation.formats import align_results_to_gt, read_ground_truth, read_results
    from mmloc.evaluation.functional import (ANET_PROPOSAL_TIOU_THRESHOLDS,
                                             average_recall_at_avg_proposals)
    if labels is None:
        labels = [osp.splitext(osp.basename(f))[0] for f in result_files]
    if len(labels) != len(result_files):
        raise ValueError(f'{len(labels)} labels for {len(result_files)} results files')
    if len(set(labels)) != len(labels):
        raise ValueError(f'legend labels must differ, got {labels} (use --labels)')
    gt = read_ground_truth(gt_file, subset=subset)
    gt_segments = {vid: rec['segments'] for vid, rec in gt.items()}
    curves = {}
    for label, path in zip(labels, result_files):
        results = align_results_to_gt(read_results(path), gt)
        curves[label] = average_recall_at_avg_proposals(
            gt_segments, {vid: (r['segments'], r['scores']) for vid, r in results.items()},
            max_avg_proposals, ANET_PROPOSAL_TIOU_THRESHOLDS)
    return curves


def main(argv=None):
    args = parse_args(argv)
    from mmloc.evaluation.functional import ANET_PROPOSAL_TIOU_THRESHOLDS
    from mmloc.visualization import plot_ar_an

    curves = ar_an_curves(args.results, args.gt, args.labels, args.subset,
                          args.max_avg_proposals)
    keys = ('AR@1', 'AR@5', 'AR@10', 'AR@100', 'auc')
    print('| results | ' + ' | '.join(keys) + ' |')
    print('|---' * (len(keys) + 1) + '|')
    for label, m in curves.items():
        print(f'| {label} | ' + ' | '.join(f'{m[k]:.4f}' for k in keys) + ' |')
    plot_ar_an(curves, args.out, tiou_thresholds=ANET_PROPOSAL_TIOU_THRESHOLDS)
    print(f'figure: {args.out}')
    summary = {label: {k: float(m[k]) for k in keys} for label, m in curves.items()}
    print(json.dumps(summary))
    return curves


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
