"""Train a localizer with mmengine's Runner.

Example:
    python tools/train.py configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone too

from mmloc.utils.cli import add_runner_arguments, parse_runner_args  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a temporal localizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint of the work dir '
                        'when no CKPT is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed on every rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic cuDNN / torch algorithms')
    add_runner_arguments(parser, 'train')
    return parse_runner_args(parser, argv)


def main():
    args = parse_args()
    from mmloc.apis.train_test import build_train_config, run_train
    cfg = build_train_config(args)
    run_train(cfg)


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
