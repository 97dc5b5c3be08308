"""Generate seeded synthetic THUMOS14-like data for SSN (features and/or tiny frames + TAG lists).

Examples:
    python tools/data/synthetic/generate_thumos.py data/synthetic_thumos
    python tools/data/synthetic/generate_thumos.py data/synthetic_thumos_frames --layout frames
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmloc.testing.synthetic_thumos import (SyntheticThumosConfig,  # noqa: E402
                                            generate_synthetic_thumos_features,
                                            generate_synthetic_thumos_frames)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--layout', choices=['features', 'frames', 'both'], default='features')
    parser.add_argument('--num-train', type=int, default=60, help='feature layout: train videos')
    parser.add_argument('--num-val', type=int, default=30, help='feature layout: val videos')
    parser.add_argument('--num-classes', type=int, default=5)
    parser.add_argument('--feat-dim', type=int, default=64)
    parser.add_argument('--frame-videos', type=int, nargs=2, default=(4, 2),
                        metavar=('VAL', 'TEST'), help='frame layout: videos per list')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    paths = {}
    if args.layout in ('features', 'both'):
        cfg = SyntheticThumosConfig(num_classes=args.num_classes, feat_dim=args.feat_dim)
        paths.update(generate_synthetic_thumos_features(args.out_dir, args.num_train,
                                                        args.num_val, args.seed, cfg))
    if args.layout in ('frames', 'both'):
        paths.update(generate_synthetic_thumos_frames(args.out_dir, *args.frame_videos,
                                                      seed=args.seed))
    print(json.dumps(paths))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
