"""Evaluate an existing results file: AR@AN of proposals or detection mAP.

Examples:
    python tools/analysis/eval_metric.py results.json --ann data/ActivityNet/anet_anno_val.json \
        --eval AR@AN
    python tools/analysis/eval_metric.py det.json --ann activity_net.v1-3.min.json \
        --subset validation --blocked api_action_get_blocked.json --eval mAP --protocol anet

Results: ours/MMAction2 results.json or the official submission JSON. Annotations: MMAction2
annotation JSON, MMAction2's hybrid GT or the official ActivityNet JSON (``--subset`` applies to
files that carry a ``subset`` field). ``v_`` prefixes are matched both ways. The metrics are
printed one per line; the last line is one JSON object.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', help='results JSON (ours/MMAction2 or official submission)')
    parser.add_argument('--ann', required=True, help='annotation / ground-truth JSON')
    parser.add_argument('--subset', default='validation',
                        help='GT subset for files with a "subset" field (default: validation)')
    parser.add_argument('--blocked', help='official blocked-video list (JSON list of ids)')
    parser.add_argument('--eval', required=True, choices=['AR@AN', 'mAP'], help='metric')
    parser.add_argument('--protocol', default='anet', choices=['anet', 'thumos14'],
                        help='mAP tIoU thresholds: anet 0.5:0.05:0.95, thumos14 0.3:0.1:0.7')
    parser.add_argument('--tiou', type=float, nargs='+',
                        help='explicit tIoU thresholds (override the default / --protocol)')
    parser.add_argument('--max-avg-proposals', type=float, default=100,
                        help='AR@AN: AN at the end of the curve (default 100)')
    parser.add_argument('--iou-dtype', default='float64', choices=['float64', 'float32'],
                        help='AR@AN IoU precision: float64 (official) or float32 (MMAction2)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.eval == 'AR@AN':
        from mmloc.evaluation.functional import ANET_PROPOSAL_TIOU_THRESHOLDS
        from mmloc.evaluation.metrics.anet_metric import ar_an_from_files
        metrics = ar_an_from_files(
            args.results, args.ann, subset=args.subset, blocked=args.blocked,
            max_avg_proposals=args.max_avg_proposals,
            temporal_iou_thresholds=args.tiou or ANET_PROPOSAL_TIOU_THRESHOLDS,
            iou_dtype=args.iou_dtype)
    else:
        from mmloc.evaluation.metrics.detection_metric import detection_map_from_files
        metrics = detection_map_from_files(
            args.results, args.ann, subset=args.subset, blocked=args.blocked,
            protocol=args.protocol, tiou_thresholds=args.tiou)
    for key, value in metrics.items():
        print(f'{key}: {value:.6f}')
    print(json.dumps({k: float(v) for k, v in metrics.items()}))
    return metrics


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
