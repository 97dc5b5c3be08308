"""Train a localizer with mmengine's Runner.

Example:
    python tools/train.py configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone too


def parse_args():
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
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load checkpoints with full pickle (only for files you trust)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    from mmloc.apis.train_test import build_train_config, run_train
    cfg = build_train_config(args)
    run_train(cfg)


if __name__ == '__main__':
    main()
