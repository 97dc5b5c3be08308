"""Side by side: MMAction2 1.2.0's own code (the peer scripts) vs mmloc (the twins here).

1. Builds the peer's pinned CPU venv once, outside the repository (default
   ``~/.cache/mmloc-peer-bench/venv-mmaction2-1.2.0``, with the peer's
   ``setup_mmaction2_env.sh``; needs the package index the first time).
2. For each of ``--pairs`` pairs and each bench (bmn, bsn, eval), runs the peer script and
   its twin one after the other, alternating which goes first (ABBA), each in a fresh
   process with the same arguments; before each run it waits until the machine is idle
   (other processes use less than ``--idle-load`` cores, up to ``--idle-timeout`` s) and
   records that load; every run reports its own ``other_cpu_load``.
3. Appends each run's JSON line to ``--out`` (JSON lines) and prints the markdown table of
   medians and ratios (``report.py``) with every run's load.

    python benchmarks/peer/run.py [--pairs 3] [--benches bmn,bsn,eval] [--quick]
    make bench-peer                       # the same, with the defaults
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Optional

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)

import report  # noqa: E402
import twin  # noqa: E402

DEFAULT_VENV = osp.join(osp.expanduser('~'), '.cache', 'mmloc-peer-bench',
                        'venv-mmaction2-1.2.0')
BENCHES = ('bmn', 'bsn', 'eval')
#: arguments of a --quick run (both tools get the same ones; figures are not comparable
#: with a full run)
QUICK_ARGS = {'bmn': ['--repeat', '1', '--videos', '2'], 'bsn': ['--repeat', '1'],
              'eval': ['--repeat', '1', '--videos', '50']}


def ensure_venv(venv: str, peer: str) -> str:
    """The peer venv's python; builds the venv with the peer's setup script if missing."""
    python = osp.join(venv, 'bin', 'python')
    if osp.isfile(python):
        return python
    if osp.abspath(venv).startswith(twin.REPO + os.sep):
        raise ValueError(f'{venv}: the peer venv must live outside the repository')
    os.makedirs(osp.dirname(osp.abspath(venv)), exist_ok=True)
    print(f'building the MMAction2 1.2.0 venv in {venv} (once) ...', flush=True)
    subprocess.run(['bash', osp.join(peer, 'setup_mmaction2_env.sh'), venv], check=True)
    return python


def machine_load(seconds: float) -> float:
    """Cores' worth of CPU all processes used during the next ``seconds`` (/proc/stat)."""
    from twin import _load
    common = _load('peer_common_load', osp.join(twin.peer_dir(None), 'common.py'))
    busy0, t0 = common.cpu_busy_s(), time.time()
    time.sleep(seconds)
    return (common.cpu_busy_s() - busy0) / (time.time() - t0)


def wait_idle(threshold: float, timeout: float, window: float = 5.0) -> float:
    """Wait until the machine's load is below ``threshold`` cores (or ``timeout`` s have
    passed); returns the last load measured."""
    deadline = time.time() + timeout
    while True:
        load = machine_load(window)
        if load < threshold or time.time() >= deadline:
            return round(load, 2)
        print(f'  machine busy ({load:.2f} cores in use), waiting ...', flush=True)


def bench_args(bench: str, quick: bool, repeat: Optional[int]) -> list:
    """The options both tools' scripts of ``bench`` get: the tiny sizes of ``--quick``, or
    ``--repeat N`` (None: the scripts' default)."""
    if quick:
        return list(QUICK_ARGS[bench])
    return [] if repeat is None else ['--repeat', str(repeat)]


def command(tool: str, bench: str, python_peer: str, peer: str, extra: list) -> tuple:
    """(argv, env) of one run."""
    env = dict(os.environ, OMP_NUM_THREADS='2', MKL_NUM_THREADS='2')
    if tool == 'mmaction2':
        # mmengine 0.10 checkpoints need it in the peer venv (peer only, never mmloc)
        env['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
        env.pop('PYTHONPATH', None)
        return [python_peer, osp.join(peer, f'bench_{bench}.py')] + extra, env
    env['PYTHONPATH'] = twin.REPO
    env['MMLOC_PEER_BENCH'] = peer
    return [sys.executable, osp.join(HERE, f'bench_{bench}.py')] + extra, env


def run_one(argv: list, env: dict) -> dict:
    """Run one script; its last stdout line is the JSON result."""
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(argv)} failed ({proc.returncode}):\n'
                           f'{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def order(pair: int) -> tuple:
    """Which tool goes first in a pair: alternates, so neither always runs first."""
    return ('mmaction2', 'mmloc') if pair % 2 == 0 else ('mmloc', 'mmaction2')


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--pairs', type=int, default=3, help='alternated pairs per bench (>= 3)')
    ap.add_argument('--benches', default=','.join(BENCHES))
    ap.add_argument('--venv', default=DEFAULT_VENV, help='the peer venv (built if missing)')
    ap.add_argument('--peer-dir', default=None, help='the peer-bench directory')
    ap.add_argument('--idle-load', type=float, default=0.3,
                    help='start a run when other processes use fewer cores than this')
    ap.add_argument('--idle-timeout', type=float, default=300,
                    help='seconds to wait for an idle machine before running anyway')
    ap.add_argument('--out', default=osp.join(osp.dirname(DEFAULT_VENV), 'runs.jsonl'),
                    help='JSON-lines file the runs are appended to')
    ap.add_argument('--repeat', type=int, default=None,
                    help="timed repeats of each stage, passed to both tools alike (default: "
                         "the scripts' own, 3); more repeats steady the ms-scale medians")
    ap.add_argument('--quick', action='store_true', help='tiny sizes (a smoke run)')
    args = ap.parse_args(argv)
    peer = twin.peer_dir(args.peer_dir)
    python_peer = ensure_venv(args.venv, peer)
    benches = args.benches.split(',')
    runs = []
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    for pair in range(args.pairs):
        for bench in benches:
            for tool in order(pair):
                extra = bench_args(bench, args.quick, args.repeat)
                load = wait_idle(args.idle_load, args.idle_timeout)
                print(f'pair {pair + 1}/{args.pairs} {bench} {tool} '
                      f'(machine load before: {load:.2f}) ...', flush=True)
                result = run_one(*command(tool, bench, python_peer, peer, extra))
                result.update(tool=tool, pair=pair + 1, idle_load_before=load,
                              quick=args.quick)
                print(f"  wall {result['wall_s']} s, other_cpu_load "
                      f"{result['other_cpu_load']}", flush=True)
                with open(args.out, 'a') as f:
                    f.write(json.dumps(result) + '\n')
                runs.append(result)
    print(report.markdown(runs))
    return runs


if __name__ == '__main__':
    main()
