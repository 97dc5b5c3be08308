"""Late RGB + flow fusion of two AFSD detection results files.

Per video and class, the detections of both files are pooled with their scores halved (the
mean of the two streams where one stream missed a detection counts as 0), then AFSD's
Gaussian Soft-NMS (sigma 0.5, floor 0.001, top 5000; spec §5.2) is run again.

This works from result files only. AFSD's own fusion averages the two networks' **raw**
outputs before decoding (spec §5.3); that is the model-level ``AFSD(fusion_net=...)`` path
(inputs with RGB and flow channels concatenated), see docs/afsd.md.

Example:
    python tools/analysis/fuse_results.py rgb.json flow.json --out fusion.json
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('rgb', help='RGB results json')
    parser.add_argument('flow', help='flow results json')
    parser.add_argument('--out', required=True, help='fused results json')
    parser.add_argument('--sigma', type=float, default=0.5)
    parser.add_argument('--top-k', type=int, default=5000)
    parser.add_argument('--score-threshold', type=float, default=0.001)
    return parser.parse_args()


def main():
    args = parse_args()
    from mmloc.evaluation.formats import read_results, write_results
    from mmloc.models.afsd.inference import fuse_detection_results
    fused = fuse_detection_results(read_results(args.rgb, require_label=True),
                                   read_results(args.flow, require_label=True),
                                   args.sigma, args.top_k, args.score_threshold)
    write_results(args.out, fused)
    print(f'{sum(len(r["scores"]) for r in fused.values())} detections in {len(fused)} videos '
          f'written to {args.out}')


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
