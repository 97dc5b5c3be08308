"""``other_cpu_load``: the cores' worth of CPU that other processes used while a benchmark
ran (0 on an idle machine), from ``/proc/stat`` and this process's own CPU time (children
included), as the peer-bench scripts report it."""
import os
import resource
import time


def _busy_s() -> float:
    with open('/proc/stat') as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf('SC_CLK_TCK')


def _own_s() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


class LoadMeter:
    """Start marks at construction; :meth:`other_cpu_load` reads the load since then."""

    def __init__(self) -> None:
        self.start = (time.time(), _busy_s(), _own_s())

    def other_cpu_load(self) -> float:
        wall = max(time.time() - self.start[0], 1e-9)
        others = (_busy_s() - self.start[1]) - (_own_s() - self.start[2])
        return round(max(others, 0.0) / wall, 2)
