"""Generate seeded synthetic variable-length snippet features for FeatureDataset.

Example:
    python tools/data/synthetic/generate_features.py data/toy --feat-dim 8 --num-classes 1
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmloc.testing.synthetic_features import (SyntheticFeatureConfig,  # noqa: E402
                                              generate_synthetic_features)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder (annotations.json + features/)')
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-val', type=int, default=20)
    parser.add_argument('--feat-dim', type=int, default=32)
    parser.add_argument('--num-classes', type=int, default=3)
    parser.add_argument('--fps', type=float, default=10.0)
    parser.add_argument('--feat-stride', type=int, default=4)
    parser.add_argument('--feat-num-frames', type=int, default=8)
    parser.add_argument('--steps', type=int, nargs=2, default=(40, 240), metavar=('MIN', 'MAX'),
                        help='feature rows per video')
    parser.add_argument('--max-actions', type=int, default=3, help='actions per video, 1..N')
    parser.add_argument('--coverage', type=float, nargs=2, default=(0.05, 0.4),
                        metavar=('LO', 'HI'), help='share of the video one action covers')
    parser.add_argument('--noise', type=float, default=0.7)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = SyntheticFeatureConfig(feat_dim=args.feat_dim, num_classes=args.num_classes,
                                 fps=args.fps, feat_stride=args.feat_stride,
                                 feat_num_frames=args.feat_num_frames,
                                 min_steps=args.steps[0], max_steps=args.steps[1],
                                 max_actions=args.max_actions,
                                 coverage=tuple(args.coverage), noise=args.noise)
    paths = generate_synthetic_features(args.out_dir, args.num_train, args.num_val, args.seed,
                                        cfg)
    print(f'{args.num_train} training + {args.num_val} validation videos: {paths}')


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
