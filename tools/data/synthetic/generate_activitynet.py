"""Generate the seeded synthetic ActivityNet-like data set (features + annotation JSONs).

Example:
    python tools/data/synthetic/generate_activitynet.py data/synthetic_anet --num-train 200 --num-val 100
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mmloc.testing.synthetic_activitynet import (SyntheticConfig,  # noqa: E402
                                               generate_synthetic_activitynet)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--temporal-dim', type=int, default=100)
    parser.add_argument('--feat-dim', type=int, default=400)
    parser.add_argument('--num-classes', type=int, default=10)
    parser.add_argument('--feature-ext', choices=['.csv', '.npy'], default='.csv')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = SyntheticConfig(temporal_dim=args.temporal_dim, feat_dim=args.feat_dim,
                          num_classes=args.num_classes)
    paths = generate_synthetic_activitynet(args.out_dir, args.num_train, args.num_val,
                                           seed=args.seed, feature_ext=args.feature_ext, cfg=cfg)
    print(json.dumps(paths))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
