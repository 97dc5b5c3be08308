"""Generate the seeded synthetic THUMOS14-like AFSD data set (frames, flow, features, CSVs).

Example:
    python tools/data/synthetic/generate_afsd_clips.py data/synthetic_afsd --num-train 60 --num-test 30
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmloc.testing.synthetic_afsd import SyntheticAFSDConfig, generate_synthetic_afsd  # noqa


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-test', type=int, default=30)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, default=2)
    parser.add_argument('--frame-size', type=int, default=40)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = SyntheticAFSDConfig(num_classes=args.num_classes, frame_size=args.frame_size)
    print(json.dumps(generate_synthetic_afsd(args.out_dir, args.num_train, args.num_test,
                                             seed=args.seed, cfg=cfg)))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
