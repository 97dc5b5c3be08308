"""The OpenMMLab argument tail shared by ``tools/train.py`` and ``tools/test.py``."""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from mmengine.config import DictAction


def add_runner_arguments(parser: argparse.ArgumentParser, loader: str) -> None:
    """``--unsafe-load``, ``--cfg-options``, ``--launcher`` and ``--local-rank``.

    Args:
        loader: the dataloader named in the ``--cfg-options`` example (``'train'``/``'test'``).
    """
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load checkpoints with full pickle (only for files you trust)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config settings, e.g. {loader}_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse, and export ``LOCAL_RANK`` as torch.distributed launchers expect."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args
