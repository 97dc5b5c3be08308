"""Pair the JSON lines of the peer scripts and of their mmloc twins into one markdown report.

Each run is one JSON object as a peer script or a twin prints it, plus the runner's tags
``tool`` (``'mmaction2'`` or ``'mmloc'``; guessed from the version keys when absent),
``pair`` and ``idle_load_before``. Figures are medians over the runs of each tool; a time
ratio is MMAction2 / mmloc (above 1: mmloc is faster), a memory ratio mmloc / MMAction2.

    python benchmarks/peer/report.py runs.jsonl     # re-print the table of a saved run
"""
from __future__ import annotations

import json
import statistics
import sys
from typing import Iterable, NamedTuple

TOOLS = ('mmaction2', 'mmloc')


class Stage(NamedTuple):
    label: str
    bench: str
    keys: tuple          # summed per run
    kind: str = 'time'   # 'time' (seconds, ratio peer/mmloc) or 'memory' (MiB, mmloc/peer)


STAGES = (
    Stage('BMN training step, batch 8 (labels, forward, loss, backward, Adam)', 'bmn',
          ('train_step_s_per_batch8', )),
    Stage('BMN forward per video', 'bmn', ('infer_forward_s_per_video', )),
    Stage('BMN predict per video, random model', 'bmn', ('predict_random_model_s_per_video', )),
    Stage('BMN post-processing per video (trained-like maps)', 'bmn',
          ('post_processing_s_per_video', )),
    Stage('BMN predict (candidates + post-processing) per video', 'bmn',
          ('predict_postproc_s_per_video', )),
    Stage('BMN model build', 'bmn', ('build_s', )),
    Stage('BMN training peak RSS', 'bmn', ('rss_after_train_mib', ), 'memory'),
    Stage('TEM training step, batch 16', 'bsn', ('tem_train_step_s_per_batch16', )),
    Stage('TEM predict per video', 'bsn', ('tem_predict_s_per_video', )),
    Stage('PGM candidates per video', 'bsn', ('pgm_proposals_s_per_video', )),
    Stage('PGM BSP features per video', 'bsn', ('pgm_bsp_feature_s_per_video', )),
    Stage('PGM candidates + BSP per video', 'bsn',
          ('pgm_proposals_s_per_video', 'pgm_bsp_feature_s_per_video')),
    Stage('PEM training step, batch 16', 'bsn', ('pem_train_step_s_per_batch16', )),
    Stage('PEM predict + post-processing per video', 'bsn', ('pem_predict_s_per_video', )),
    Stage('BSN peak RSS', 'bsn', ('peak_rss_mib', ), 'memory'),
    Stage('AR@AN, {videos} videos × {proposals_per_video} proposals', 'eval', ('ar_an_s', )),
    Stage('detection mAP ({det_predictions} predictions): evaluate', 'eval', ('det_map_eval_s', )),
    Stage('detection mAP: load files', 'eval', ('det_load_s', )),
    Stage('detection mAP: end to end', 'eval', ('det_load_s', 'det_map_eval_s')),
)


def tool_of(run: dict) -> str:
    """``'mmaction2'`` or ``'mmloc'``: the runner's tag, else the version key a script emits."""
    if run.get('tool') in TOOLS:
        return run['tool']
    for tool in TOOLS:
        if tool in run:
            return tool
    raise ValueError(f"run of bench {run.get('bench')!r} names neither tool: {sorted(run)}")


def group(runs: Iterable[dict]) -> dict:
    """``{bench: {tool: [runs]}}`` in the order given."""
    out: dict = {}
    for run in runs:
        out.setdefault(run['bench'], {t: [] for t in TOOLS})[tool_of(run)].append(run)
    return out


def stage_value(run: dict, stage: Stage) -> float | None:
    """The stage's figure in one run (the sum of its keys); None if a key is missing."""
    try:
        return float(sum(run[k] for k in stage.keys))
    except KeyError:
        return None


def medians(runs: Iterable[dict]) -> list[dict]:
    """One row per stage present for both tools: medians, run counts, ratio."""
    grouped = group(runs)
    rows = []
    for stage in STAGES:
        by_tool = grouped.get(stage.bench)
        if not by_tool:
            continue
        values = {t: [v for v in (stage_value(r, stage) for r in by_tool[t]) if v is not None]
                  for t in TOOLS}
        if not all(values.values()):
            continue
        med = {t: statistics.median(v) for t, v in values.items()}
        peer, ours = med['mmaction2'], med['mmloc']
        if stage.kind == 'time':
            ratio = peer / ours if ours > 0 else float('inf')
        else:
            ratio = ours / peer if peer > 0 else float('inf')
        first = by_tool['mmloc'][0]
        label = stage.label.format(**first) if '{' in stage.label else stage.label
        rows.append(dict(stage=stage, label=label, peer=peer, mmloc=ours, ratio=ratio,
                         n={t: len(v) for t, v in values.items()}))
    return rows


def _fmt(value: float, kind: str) -> str:
    if kind == 'memory':
        return f'{value:.0f} MiB'
    if value >= 1:
        return f'{value:.2f} s'
    if value >= 1e-3:
        return f'{value * 1e3:.2f} ms'
    return f'{value * 1e6:.0f} µs'


def markdown(runs: list[dict]) -> str:
    """The medians table and the list of runs with their ``other_cpu_load``."""
    rows = medians(runs)
    lines = ['| stage | MMAction2 1.2.0 | mmloc | ratio | runs |', '|---|---|---|---|---|']
    for row in rows:
        kind = row['stage'].kind
        ratio = (f"{row['ratio']:.2f} (mmloc/MMAction2)" if kind == 'memory'
                 else f"{row['ratio']:.1f}×")
        lines.append(f"| {row['label']} | {_fmt(row['peer'], kind)} | "
                     f"{_fmt(row['mmloc'], kind)} | {ratio} | "
                     f"{row['n']['mmaction2']}+{row['n']['mmloc']} |")
    lines += ['', '| # | pair | bench | tool | repeat | wall_s | other_cpu_load | '
              'idle_load_before |', '|---|---|---|---|---|---|---|---|']
    for i, run in enumerate(runs):
        lines.append(f"| {i + 1} | {run.get('pair', '-')} | {run['bench']} | {tool_of(run)} | "
                     f"{run.get('repeat', '-')} | {run.get('wall_s', '-')} | "
                     f"{run.get('other_cpu_load', '-')} | "
                     f"{run.get('idle_load_before', '-')} |")
    loads = [r['other_cpu_load'] for r in runs if 'other_cpu_load' in r]
    if loads:
        lines += ['', f'other_cpu_load over the runs: median {statistics.median(loads):.2f}, '
                  f'max {max(loads):.2f} cores (0 = idle machine)']
    return '\n'.join(lines)


def read_runs(path: str) -> list[dict]:
    """The runs of a JSON-lines file (blank lines skipped)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


if __name__ == '__main__':
    print(markdown(read_runs(sys.argv[1])))
