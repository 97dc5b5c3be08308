"""``python -m mmloc.utils.torchrun``: torchrun for ``tools/launchers/torchrun.sh``, failing
like a tool.

torchrun follows a failed copy's one-line ``error: ...`` with its own log line, traceback and
ChildFailedError table. Here that one line is the whole report and torchrun exits with the
copy's status (2 bad input or usage, 1 internal error); a copy that ended another way (a
signal, another status) gets one line naming its rank. ``--debug`` anywhere in the arguments
(the tools take it too) or ``MMLOC_DEBUG=1`` leaves torchrun's own report as it is.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Optional, Sequence


def failure_report(err) -> tuple[int, Optional[str]]:
    """(exit status, line to print or None) for a torchrun ``ChildFailedError``."""
    rank, failure = err.get_first_failure()
    if failure.exitcode in (1, 2):          # the tool printed its own error line
        return failure.exitcode, None
    if failure.exitcode < 0:
        how = f'was killed by {signal.Signals(-failure.exitcode).name}'
    else:
        how = f'exited with status {failure.exitcode}'
    return 1, f'error: internal error: rank {rank} (pid {failure.pid}) {how}'


def _quiet_elastic_logs() -> None:
    for name in list(logging.root.manager.loggerDict):
        if name.startswith('torch.distributed'):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run
    if '--debug' in argv or os.environ.get('MMLOC_DEBUG', '') not in ('', '0'):
        run(parse_args(argv))
        return
    from mmloc.utils.cli import run_tool

    def launch(_):
        args = parse_args(argv)
        _quiet_elastic_logs()
        try:
            run(args)
        except ChildFailedError as err:
            code, line = failure_report(err)
            if line:
                print(line, file=sys.stderr)
            sys.exit(code)
    run_tool(launch, argv=[])


if __name__ == '__main__':
    main()
