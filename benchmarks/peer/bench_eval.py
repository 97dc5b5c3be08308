"""mmloc twin of the peer's bench_eval.py: AR@AN and detection mAP on CPU.

AR@AN: ``mmloc.evaluation.functional.average_recall_at_avg_proposals`` with ANetMetric's
arguments (AN up to 100, tIoU 0.5:0.05:0.95), 5000 videos x 100 proposals. Detection mAP:
the ground-truth and prediction JSON files the peer writes, read with mmloc's readers
(``load_detection_files``, the loading half of ``tools/analysis/eval_metric.py --eval mAP``)
and scored with ``compute_detection_map`` (ActivityNet thresholds); loading and evaluation
timed apart, as the peer does. Same inputs (the peer's ``synth``) and repeats. One JSON line.

    python benchmarks/peer/bench_eval.py [--repeat 3] [--videos 5000] [--proposals 100]
        [--detections 100] [--peer-dir DIR]
"""
import json
import os
import tempfile

import numpy as np

import twin


def main(argv=None):
    ap = twin.parser(__doc__)
    ap.add_argument('--videos', type=int, default=5000)
    ap.add_argument('--proposals', type=int, default=100)
    ap.add_argument('--detections', type=int, default=100,
                    help='detections per video for mAP')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.videos = 1, 50
    t = twin.Twin(args.peer_dir)
    synth = t.synth
    from mmloc.evaluation.functional import (ANET_TIOU_THRESHOLDS,
                                             average_recall_at_avg_proposals,
                                             compute_detection_map)
    from mmloc.evaluation.metrics.detection_metric import load_detection_files
    r = {}
    infos = synth.video_infos(args.videos, seed=5)

    gt = {i['video_name'][2:]: np.array([a['segment'] for a in i['annotations']])
          for i in infos}
    props = {k[2:]: v for k, v in synth.proposals(infos, args.proposals, seed=6).items()}
    total = sum(len(v) for v in props.values())
    out = {}

    def ar_an():
        out['ar'] = average_recall_at_avg_proposals(
            gt, props, max_avg_proposals=100,
            temporal_iou_thresholds=np.linspace(0.5, 0.95, 10), total_num_proposals=total)
    r['ar_an_s'] = t.median_time(ar_an, args.repeat, 0)
    r['ar_an_auc'] = float(out['ar']['auc'])
    recall = out['ar']['recall']
    r['AR@1'], r['AR@10'], r['AR@100'] = (float(recall[:, i].mean()) for i in (0, 9, 99))

    database, results = synth.detections(infos, args.detections, seed=8)
    classes = {a['label'] for i in infos for a in i['annotations']}
    tmp = tempfile.mkdtemp(prefix='mmloc_eval_')
    gt_file, pred_file = (os.path.join(tmp, f) for f in ('gt.json', 'pred.json'))
    with open(gt_file, 'w') as f:
        json.dump(database, f)
    with open(pred_file, 'w') as f:
        json.dump(dict(version='VERSION 1.3', results=results, external_data={}), f)
    loaded = {}
    r['det_load_s'] = t.median_time(lambda: loaded.update(
        inputs=load_detection_files(pred_file, gt_file)), args.repeat, 0)
    gt_arr, pr_arr, names = loaded['inputs']
    r['det_map_eval_s'] = t.median_time(lambda: out.update(map=compute_detection_map(
        gt_arr, pr_arr, len(names), ANET_TIOU_THRESHOLDS)), args.repeat, 0)
    r['det_average_mAP'] = float(out['map']['average_mAP'])
    r['det_classes'] = len(classes)
    r['det_predictions'] = args.videos * args.detections
    r['peak_rss_mib'] = t.peak_rss_mib()
    for f in (gt_file, pred_file):
        os.remove(f)
    os.rmdir(tmp)
    return t.emit('eval', repeat=args.repeat, videos=args.videos,
                  proposals_per_video=args.proposals, **r)


if __name__ == '__main__':
    main()
