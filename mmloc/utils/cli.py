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


#: errors that mean "bad input or usage" (exit 2); anything else is an internal error (exit 1)
USER_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError,
               ValueError, KeyError)


def _one_line(err: BaseException) -> str:
    """The message of ``err`` as a tool prints it: a KeyError's text unquoted, and for an error
    re-raised from a dataloader worker (its message holds the worker's traceback) the
    original message only."""
    msg = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    lines = [ln for ln in msg.strip().splitlines() if ln.strip()]
    if 'Original Traceback' in msg and lines:
        last = lines[-1]
        return last.split(': ', 1)[1] if ': ' in last and last.split(': ', 1)[0].isidentifier() \
            else last
    return ' '.join(ln.strip() for ln in lines) or type(err).__name__


def run_tool(main, argv: Optional[Sequence[str]] = None) -> None:
    """Run a tool's ``main`` the way a command-line tool fails.

    Bad input or usage prints ``error: <file>: <problem>`` on stderr and exits 2 (argparse's
    usage errors already do, and so does ``raise SystemExit('problem')``); any other
    exception prints one line and exits 1. ``--debug``
    (removed from the arguments) or ``MMLOC_DEBUG=1`` lets the traceback through instead.
    """
    import sys
    args = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in args or os.environ.get('MMLOC_DEBUG', '') not in ('', '0')
    if '--debug' in args:
        args.remove('--debug')
    if argv is None:
        sys.argv[1:] = args
    try:
        main() if argv is None else main(args)
    except SystemExit as err:
        if isinstance(err.code, str):   # ``raise SystemExit('problem')``: a usage error
            print(f'error: {err.code}', file=sys.stderr)
            sys.exit(2)
        raise
    except KeyboardInterrupt:
        if debug:
            raise
        print('error: interrupted', file=sys.stderr)
        sys.exit(130)
    except USER_ERRORS as err:
        if debug:
            raise
        print(f'error: {_one_line(err)}', file=sys.stderr)
        sys.exit(2)
    except Exception as err:  # noqa: BLE001 (a tool's last line of defence)
        if debug:
            raise
        print(f'error: internal error: {type(err).__name__}: {_one_line(err)} '
              '(run again with --debug for the traceback)', file=sys.stderr)
        sys.exit(1)
