"""The side-by-side benchmark (benchmarks/peer/): report pairing on fake runs, and the mmloc
twins in --quick mode. Nothing here needs the MMAction2 venv or asserts a timing."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PEER = osp.join(REPO, 'benchmarks', 'peer')
sys.path.insert(0, PEER)

import report  # noqa: E402
import run  # noqa: E402
import twin  # noqa: E402


def _fake(tool, pair, **figures):
    version = {'mmaction2': '1.2.0'} if tool == 'mmaction2' else {'mmloc': '0.1.0'}
    return dict(bench='bmn', other_cpu_load=0.1 * pair, wall_s=1.0, pair=pair, **version,
                **figures)


def test_report_pairs_medians_and_ratios():
    runs = [_fake('mmaction2', 1, train_step_s_per_batch8=20.0, rss_after_train_mib=8000.0),
            _fake('mmloc', 1, train_step_s_per_batch8=2.0, rss_after_train_mib=1000.0),
            _fake('mmloc', 2, train_step_s_per_batch8=4.0, rss_after_train_mib=1000.0),
            _fake('mmaction2', 2, train_step_s_per_batch8=30.0, rss_after_train_mib=8000.0),
            _fake('mmaction2', 3, train_step_s_per_batch8=22.0, rss_after_train_mib=8000.0),
            _fake('mmloc', 3, train_step_s_per_batch8=3.0, rss_after_train_mib=1000.0)]
    rows = {r['stage'].keys: r for r in report.medians(runs)}
    step = rows[('train_step_s_per_batch8', )]
    assert (step['peer'], step['mmloc'], step['n']) == (22.0, 3.0, dict(mmaction2=3, mmloc=3))
    assert step['ratio'] == pytest.approx(22.0 / 3.0)
    assert rows[('rss_after_train_mib', )]['ratio'] == pytest.approx(1 / 8)
    # stages a bench lacks (forward, ...) and benches not run (bsn, eval) are left out
    assert ('infer_forward_s_per_video', ) not in rows
    text = report.markdown(runs)
    assert '| BMN training step' in text and '7.3×' in text and '0.12 (mmloc/MMAction2)' in text
    assert text.count('| bmn |') == 6 and 'max 0.30 cores' in text


def test_report_sums_keys_and_needs_both_tools():
    runs = [dict(bench='eval', tool='mmaction2', det_load_s=1.0, det_map_eval_s=3.0,
                 det_predictions=10),
            dict(bench='eval', tool='mmloc', det_load_s=0.5, det_map_eval_s=0.5,
                 det_predictions=10)]
    rows = {r['label']: r for r in report.medians(runs)}
    assert rows['detection mAP: end to end']['ratio'] == pytest.approx(4.0)
    assert 'detection mAP (10 predictions): evaluate' in rows
    assert report.medians(runs[:1]) == []
    with pytest.raises(ValueError, match='neither tool'):
        report.tool_of(dict(bench='eval'))


def test_runner_alternates_and_keeps_the_venv_out_of_the_repo(tmp_path):
    assert [run.order(p) for p in range(3)] == [('mmaction2', 'mmloc'), ('mmloc', 'mmaction2'),
                                                ('mmaction2', 'mmloc')]
    with pytest.raises(ValueError, match='outside the repository'):
        run.ensure_venv(osp.join(REPO, 'peer-venv'), str(tmp_path))


def test_runner_gives_both_tools_the_same_repeats():
    assert run.bench_args('bsn', False, None) == []
    assert run.bench_args('bsn', False, 10) == ['--repeat', '10']
    assert run.bench_args('bmn', True, 10) == run.QUICK_ARGS['bmn']    # --quick wins
    peer = run.command('mmaction2', 'bsn', 'py', '/peer', ['--repeat', '7'])[0]
    ours = run.command('mmloc', 'bsn', 'py', '/peer', ['--repeat', '7'])[0]
    assert peer[-2:] == ours[-2:] == ['--repeat', '7']


@pytest.mark.skipif(not osp.isfile(osp.join(twin.DEFAULT_PEER_DIR, 'synth.py')),
                    reason='the peer-bench scripts (../shared/peer-bench) are not present')
@pytest.mark.parametrize('name', ['bsn', 'eval', pytest.param('bmn', marks=pytest.mark.slow)])
def test_twin_quick_run_prints_the_peer_keys(name):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(PEER, f'bench_{name}.py'), '--quick'],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['bench'] == name and report.tool_of(out) == 'mmloc'
    stages = [s for s in report.STAGES if s.bench == name]
    assert all(report.stage_value(out, s) is not None for s in stages)
