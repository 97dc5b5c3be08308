"""A progress bar for long loops that appears only when it is needed and can be seen."""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')


def track(iterable: Iterable[T], total: Optional[int] = None, desc: str = '',
          delay_s: float = 3.0, stream=None, refresh_s: float = 0.2) -> Iterator[T]:
    """Yield the items of ``iterable``; once the loop has run ``delay_s`` seconds, show
    mmengine's ``ProgressBar`` (done / total, rate, ETA) on ``stream`` (stderr).

    Only on a terminal: redirected to a file or a pipe, ``'\\r'`` updates would flood it, and
    stdout (where the tools print their metrics and the last JSON line) is never touched.
    A loop that ends within ``delay_s`` prints nothing.

    Args:
        total: number of items; ``len(iterable)`` when None (no bar without either).
        desc: printed on its own line above the bar.
        refresh_s: the bar is redrawn at most this often.
    """
    stream = sys.stderr if stream is None else stream
    if total is None:
        total = len(iterable) if hasattr(iterable, '__len__') else 0
    if total <= 0 or not getattr(stream, 'isatty', lambda: False)():
        yield from iterable
        return
    from mmengine.utils import ProgressBar
    start = time.time()
    bar, done, last = None, 0, start
    try:
        for item in iterable:
            yield item
            done += 1
            now = time.time()
            if bar is None:
                if now - start >= delay_s:
                    if desc:
                        stream.write(desc + '\n')
                    bar = ProgressBar(total, file=stream)
                    bar.timer._t_start = start   # rate and ETA count from the loop's start
                    bar.update(done)
                    last = now
            elif now - last >= refresh_s:
                bar.update(done - bar.completed)
                last = now
    finally:
        if bar is not None:
            if done > bar.completed:
                bar.update(done - bar.completed)
            stream.write('\n')
            stream.flush()
