"""Proposals -> detections with video-level classifier results, then detection mAP.

    python tools/analysis/report_map.py --proposal results.json --gt anet_anno_val.json \
        --cls-results cuhk_anet17_pred.json [--top-k-classes 1] [--det-output det_result.json]

Label rule (spec §6.6): top-1 class of the video labels every proposal and the proposal score is
kept (MMAction2); ``--top-k-classes K`` (K > 1) repeats each proposal for the top-K classes with
score = proposal score x class score. A classifier file of plain score lists (the CUHK file)
indexes classes by the GT's ``label_id`` when the GT has one (the official JSON), else by the
GT's first-appearance order. Proposals outside their video's duration are clipped with a
warning. A video missing from the classifier file, an unknown class name or empty results raise
an error naming the file and video. Prints the mAP table; the last line is one JSON object.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--proposal', required=True, help='proposal results.json')
    parser.add_argument('--gt', required=True, help='GT: MMAction2 annotation or official JSON')
    parser.add_argument('--cls-results', required=True,
                        help='classifier results ({"results": {id: [{"label","score"}]}})')
    parser.add_argument('--top-k-classes', type=int, default=1)
    parser.add_argument('--score-fusion', default='product', choices=['product', 'sqrt'],
                        help="'sqrt': ActionFormer's sqrt(class x proposal score)")
    parser.add_argument('--num-pred', type=int, default=None,
                        help="keep each video's best N proposals first (ActionFormer: 200)")
    parser.add_argument('--subset', default='validation')
    parser.add_argument('--blocked', help='official blocked-video list')
    parser.add_argument('--protocol', default='anet', choices=['anet', 'thumos14'])
    parser.add_argument('--det-output', default='det_result.json')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmloc.evaluation import formats
    from mmloc.evaluation.metrics.detection_metric import (detection_map_from_files,
                                                           proposals_to_detections)
    blocked = formats.read_blocked(args.blocked) if args.blocked else None
    gt = formats.read_ground_truth(args.gt, subset=args.subset, blocked=blocked)
    proposals = formats.align_results_to_gt(formats.read_results(args.proposal, blocked=blocked), gt)
    formats.clip_results_to_duration(proposals, gt)
    classifier = formats.read_classifier_results(args.cls_results)
    by_label_id = formats.classes_by_label_id(args.gt)
    if by_label_id is not None:   # plain score lists index the GT's label_id (CUHK, ANet)
        classifier = formats.name_classifier_classes(classifier, by_label_id)
    dets = proposals_to_detections(proposals, classifier, args.top_k_classes,
                                   score_fusion=args.score_fusion, num_pred=args.num_pred)
    formats.write_results(args.det_output, dets)
    metrics = detection_map_from_files(args.det_output, args.gt, subset=args.subset,
                                       blocked=blocked, protocol=args.protocol)
    for key, value in metrics.items():
        print(f'{key:>12}: {100 * value:6.2f}')
    print(json.dumps(metrics))
    return metrics


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
