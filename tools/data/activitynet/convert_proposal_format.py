"""Convert proposal/detection results between formats.

    # results.json -> SSN/P-GCN proposal text (spec §1.8), videos in annotation order
    python tools/data/activitynet/convert_proposal_format.py to-text --proposal-file results.json \
        --ann-file anet_anno_val.json --activity-index-file action_name.csv \
        --formatted-proposal-file anet_val_proposals.txt
    # results.json -> official ActivityNet submission JSON (proposals, or detections with labels)
    python tools/data/activitynet/convert_proposal_format.py to-official --proposal-file results.json \
        --out submission.json [--detections]
    # official submission (or any results JSON) -> our results.json (ids kept, items sorted by score)
    python tools/data/activitynet/convert_proposal_format.py from-official --proposal-file sub.json \
        --out results.json
    # proposal text -> results JSON (segments and labels; the text has no scores: rank order kept
    # with score = best_iou, documented in docs/evaluation.md)
    python tools/data/activitynet/convert_proposal_format.py from-text --proposal-file p.txt --out r.json

JSON round trips are lossless (float64 values written by ``json``); the text keeps seconds with
Python's float repr and best_iou / best_overlap as float32.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert proposal / detection result formats')
    parser.add_argument('mode', choices=['to-text', 'to-official', 'from-official', 'from-text'])
    parser.add_argument('--proposal-file', required=True, help='input file')
    parser.add_argument('--ann-file', help='MMAction2 annotation JSON (to-text)')
    parser.add_argument('--activity-index-file', help='class names, one per line (to-text)')
    parser.add_argument('--formatted-proposal-file', help='output text file (to-text)')
    parser.add_argument('--out', help='output JSON (to-official / from-official / from-text)')
    parser.add_argument('--detections', action='store_true',
                        help='to-official: items carry "label" (detection submission)')
    parser.add_argument('--mmaction2-tiebreak', action='store_true',
                        help="to-text: MMAction2's class-0 tie-break (spec §8 row 17)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    from mmloc.evaluation import formats
    if args.mode == 'to-text':
        for opt in ('ann_file', 'activity_index_file', 'formatted_proposal_file'):
            if getattr(args, opt) is None:
                raise SystemExit(f'to-text needs --{opt.replace("_", "-")}')
        text = formats.build_proposal_text(
            formats.read_mmaction_annotations(args.ann_file), formats.read_results(args.proposal_file),
            formats.read_class_index(args.activity_index_file), args.mmaction2_tiebreak)
        formats.write_text(args.formatted_proposal_file, text)
        print(f'wrote {args.formatted_proposal_file}')
        return
    if args.out is None:
        raise SystemExit(f'{args.mode} needs --out')
    if args.mode == 'from-text':
        results = {}
        for block in formats.parse_proposal_text(args.proposal_file):
            p = block['proposals']
            results[block['video_id']] = dict(segments=p[:, 3:5], scores=p[:, 1],
                                              labels=[int(x) for x in p[:, 0]])
    else:
        results = formats.read_results(args.proposal_file, require_label=args.detections)
        for rec in results.values():  # best first, ties keep file order
            order = np.argsort(-rec['scores'], kind='stable')
            rec['segments'], rec['scores'] = rec['segments'][order], rec['scores'][order]
            if rec['labels'] is not None:
                rec['labels'] = [rec['labels'][i] for i in order]
            if args.mode == 'to-official' and not args.detections:
                rec['labels'] = None
    formats.write_results(args.out, results)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
