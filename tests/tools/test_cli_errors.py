"""Every tool fails like a tool: ``error: <file>: <problem>`` on stderr, exit 2 for bad input
or usage, exit 1 (one line) for an internal error, the traceback only with ``--debug``."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmloc.utils.cli import run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NOPE = '/nonexistent/mmloc'
BMN_DEMO = 'configs/localization/bmn/bmn_synthetic_demo.py'

# one bad-input call per tool; ``expect`` is a piece of the message
CASES = {
    'train.py': ([f'{NOPE}/cfg.py'], 'cfg.py'),
    'test.py': ([f'{NOPE}/cfg.py', f'{NOPE}/ck.pth'], NOPE),
    'infer.py': ([BMN_DEMO, f'{NOPE}/ck.pth', '--input', f'{NOPE}/v.csv', '--out',
                  f'{NOPE}/out', '--duration', '3'], NOPE),
    'analysis/eval_metric.py': ([f'{NOPE}/r.json', '--ann', f'{NOPE}/a.json', '--eval', 'mAP'],
                                NOPE),
    'analysis/analyze_logs.py': (['plot_curve', f'{NOPE}/scalars.json', '--out',
                                  f'{NOPE}/c.png'], NOPE),
    'analysis/diagnose.py': ([f'{NOPE}/r.json', '--ann', f'{NOPE}/a.json', '--out-dir',
                              f'{NOPE}/d'], NOPE),
    'analysis/fuse_results.py': ([f'{NOPE}/a.json', f'{NOPE}/b.json', '--out', f'{NOPE}/c'],
                                 NOPE),
    'analysis/plot_ar_an.py': ([f'{NOPE}/r.json', '--gt', f'{NOPE}/g.json', '--out',
                                f'{NOPE}/p.png'], NOPE),
    'analysis/report_map.py': (['--proposal', f'{NOPE}/p.json', '--gt', f'{NOPE}/g.json',
                                '--cls-results', f'{NOPE}/c.json'], NOPE),
    'analysis/visualize_proposals.py': ([f'{NOPE}/r.json', '--gt', f'{NOPE}/g.json',
                                         '--out-dir', f'{NOPE}/v'], NOPE),
    'data/activitynet/convert_proposal_format.py': (['to-official', '--proposal-file',
                                                     f'{NOPE}/p.json', '--out', f'{NOPE}/o',
                                                     '--ann-file', f'{NOPE}/a.json'], NOPE),
    'misc/bsn_proposal_generation.py': ([f'{NOPE}/pgm.py'], 'pgm.py'),
    'misc/merge_afsd_fusion_checkpoint.py': ([f'{NOPE}/rgb.pth', f'{NOPE}/flow.pth', '--out',
                                              f'{NOPE}/f.pth'], NOPE),
    'data/extract_features.py': (['configs/extractors/tiny3d_rgb_demo.py', '--random-init',
                                  '--videos', f'{NOPE}/videos', '--out', f'{NOPE}/o'],
                                 'no such video, folder or list'),
    'data/convert_annotations.py': ([f'{NOPE}/labels.csv', '--out', f'{NOPE}/o'],
                                    'annotation file not found'),
    'data/check_dataset.py': ([f'{NOPE}/cfg.py'], 'config not found'),
    'misc/convert_afsd_checkpoint.py': ([f'{NOPE}/checkpoint-15.ckpt', '--out', f'{NOPE}/c.pth'],
                                        NOPE),
    'misc/run_demo.py': (['--config', f'{NOPE}/cfg.py'], 'cfg.py'),
    'misc/convert_actionformer_checkpoint.py': ([f'{NOPE}/epoch_034.pth.tar', f'{NOPE}/o.pth'],
                                                NOPE),
    'deployment/export_onnx.py': ([f'{NOPE}/cfg.py', '--out', f'{NOPE}/m.onnx'], 'cfg.py'),
    # generators: a usage error (argparse) exits 2 too
    'data/synthetic/generate_activitynet.py': (['out', '--seed', 'x'], 'invalid int'),
    'data/synthetic/generate_thumos.py': (['out', '--seed', 'x'], 'invalid int'),
    'data/synthetic/generate_afsd_clips.py': (['out', '--seed', 'x'], 'invalid int'),
    'data/synthetic/generate_features.py': (['out', '--seed', 'x'], 'invalid int'),
    'data/synthetic/generate_videos.py': (['out', '--num-videos', '1'], '--num-videos >= 2'),
}


# the shell scripts: one bad-usage or bad-input call each, run by bash
SHELL_CASES = {
    'dist_train.sh': ([], 'usage: tools/dist_train.sh CONFIG GPUS'),
    'dist_test.sh': ([f'{NOPE}/cfg.py', f'{NOPE}/ck.pth', '1'], f'{NOPE}/cfg.py: config file '
                     'not found'),
    'slurm_train.sh': (['part', 'job', f'{NOPE}/cfg.py', 'wd'], f'{NOPE}/cfg.py: config file '
                       'not found'),
    'slurm_test.sh': (['part', 'job'], 'usage: tools/slurm_test.sh PARTITION'),
    'launchers/torchrun.sh': (['train.py', 'x', BMN_DEMO], "positive number of processes, got "
                              "'x'"),
    'launchers/srun.sh': (['part', 'job', 'nope.py', BMN_DEMO], 'nope.py: no such tool'),
    'misc/bsn_chain_demo.sh': (['extra'], 'usage: tools/misc/bsn_chain_demo.sh'),
}


def _tool_main(script):
    path = osp.join(REPO, 'tools', script)
    spec = importlib.util.spec_from_file_location('cli_' + script.replace('/', '_')[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_every_tool_has_a_case():
    tools = {osp.relpath(osp.join(d, f), osp.join(REPO, 'tools'))
             for d, _, files in os.walk(osp.join(REPO, 'tools')) for f in files
             if f.endswith(('.py', '.sh'))}
    assert tools == set(CASES) | set(SHELL_CASES)


def _assert_one_error(stderr: str, expect: str) -> None:
    err = stderr.strip().splitlines()
    errors = [ln for ln in err if 'error:' in ln]
    assert errors and len(errors) <= 2, err
    assert expect in ' '.join(errors), err
    assert not any('Traceback' in ln for ln in err), err


@pytest.mark.parametrize('script', sorted(CASES))
def test_bad_input_is_one_error_line_and_exit_2(script, monkeypatch, capsys, tmp_path):
    argv, expect = CASES[script]
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, 'argv', [script] + list(argv))
    main = _tool_main(script)
    with pytest.raises(SystemExit) as exc:
        run_tool(main)
    assert exc.value.code == 2
    _assert_one_error(capsys.readouterr().err, expect)


def _bash(script, argv):
    env = dict(os.environ, PYTHON=sys.executable, PATH='/usr/bin:/bin')   # no srun here
    return subprocess.run(['bash', osp.join('tools', script)] + list(argv), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('script', sorted(SHELL_CASES))
def test_shell_script_bad_usage_is_one_error_line_and_exit_2(script):
    argv, expect = SHELL_CASES[script]
    proc = _bash(script, argv)
    assert proc.returncode == 2, proc.stderr
    _assert_one_error(proc.stderr, expect)


def test_a_failing_copy_under_torchrun_is_its_one_error_line():
    """tools/dist_train.sh on a config whose data is not there: the copy's own error line and
    its exit status 2, not torchrun's traceback and ChildFailedError table."""
    config = 'configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py'
    proc = _bash('dist_train.sh', [config, '1', '--work-dir', f'{NOPE}/work'])
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if 'error' in ln.lower()]
    assert errors == ['error: data/ActivityNet/anet_anno_train.json: file not found'], \
        proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr and 'FAILED' not in proc.stderr


def test_torchrun_reports_a_copy_that_died_by_a_signal():
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    from mmloc.utils.torchrun import failure_report

    def failed(exitcode):
        return ChildFailedError('tools/train.py', {1: ProcessFailure(1, 4242, exitcode, '')})
    assert failure_report(failed(2)) == (2, None)
    assert failure_report(failed(1)) == (1, None)
    assert failure_report(failed(-9)) == (
        1, 'error: internal error: rank 1 (pid 4242) was killed by SIGKILL')
    assert failure_report(failed(3)) == (
        1, 'error: internal error: rank 1 (pid 4242) exited with status 3')


def test_internal_error_is_exit_1_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken():
        raise RuntimeError('boom')
    with pytest.raises(SystemExit) as exc:
        run_tool(lambda args: broken(), argv=[])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error: internal error: RuntimeError: boom') and '--debug' in err
    with pytest.raises(RuntimeError, match='boom'):
        run_tool(lambda args: broken(), argv=['--debug'])
    monkeypatch.setenv('MMLOC_DEBUG', '1')
    with pytest.raises(RuntimeError, match='boom'):
        run_tool(lambda args: broken(), argv=[])


def test_worker_tracebacks_are_reduced_to_the_original_message(capsys):
    def from_worker():
        raise ValueError('Caught ValueError in DataLoader worker process 0.\nOriginal Traceback '
                         '(most recent call last):\n  File "x.py", line 1\nValueError: '
                         'f.csv: video v_a: expected 400 feature columns, got 3')
    with pytest.raises(SystemExit):
        run_tool(lambda args: from_worker(), argv=[])
    assert capsys.readouterr().err.strip() == \
        'error: f.csv: video v_a: expected 400 feature columns, got 3'


def test_a_real_process_prints_no_traceback(tmp_path):
    bad = tmp_path / 'seg1.json'
    bad.write_text('{"results": {"bYUmtLBL7W4": [{"segment": [9.0, 3.0], "score": 0.5}]}}')
    gt = tmp_path / 'gt.json'
    gt.write_text('{"database": {"bYUmtLBL7W4": {"subset": "validation", "duration": 20.0, '
                  '"annotations": [{"segment": [1.0, 4.0], "label": "a"}]}}}')
    cmd = [sys.executable, osp.join(REPO, 'tools/analysis/eval_metric.py'), str(bad), '--ann',
           str(gt), '--eval', 'mAP']
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f'error: {bad}: video bYUmtLBL7W4 item 0: "segment" ends '
                                   'before it starts: [9.0, 3.0]')
    proc = subprocess.run(cmd + ['--debug'], capture_output=True, text=True)
    assert proc.returncode == 1 and 'Traceback' in proc.stderr


def test_system_exit_with_a_message_is_a_usage_error(capsys):
    def main(args):
        raise SystemExit('to-official needs --out')
    with pytest.raises(SystemExit) as exc:
        run_tool(main, argv=[])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == 'error: to-official needs --out'
