"""Crash safety: SIGKILL mid-epoch, ``--resume``, same final checkpoint; atomic checkpoint files."""
import argparse
import os
import os.path as osp
import signal
import subprocess
import sys
import warnings

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from mmloc.apis import build_train_config, run_train
from mmloc.apis.train_test import find_resume_checkpoint
from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
from mmloc.engine.checkpoint import safe_torch_load
from mmloc.engine.fileio import AtomicLocalBackend

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
T, C = 16, 16
NUM_TRAIN, BATCH, EPOCHS = 12, 4, 4  # 3 iterations per epoch
KILL_AT_ITER = 7  # 0-based: the 2nd iteration of epoch 3, after epoch_2.pth was saved

CONFIG = """
_base_ = ['{repo}/configs/_base_/models/bmn_400x100.py',
          '{repo}/configs/_base_/datasets/activitynet_feature.py',
          '{repo}/configs/_base_/schedules/adam_9e.py',
          '{repo}/configs/_base_/default_runtime.py']
custom_imports = dict(imports=['kill_hooks'], allow_failed_imports=False)
model = dict(temporal_dim={T}, feat_dim={C}, hidden_dim_1d=16, hidden_dim_2d=16,
             hidden_dim_3d=16, num_samples=4, num_samples_per_bin=2, post_process_top_k=20)
_load = dict(type='LoadLocalizationFeature', temporal_dim={T}, feat_dim={C})
train_dataloader = dict(batch_size={B}, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='{data}/anet_anno_train.json', data_prefix=dict(video='{data}/features'),
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments',))]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_epochs={E}, val_begin=100, val_interval=1)
# the lr steps inside the interrupted stretch, so a scheduler that is not restored shows
param_scheduler = [dict(type='MultiStepLR', begin=0, end={E}, by_epoch=True, milestones=[3])]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=-1))
custom_hooks = [dict(type='SelfKillHook')]
randomness = dict(seed=0)
"""


def _train_args(config, work_dir, **kw):
    args = dict(config=config, work_dir=work_dir, resume=None, amp=False, no_validate=False,
                auto_scale_lr=False, seed=None, diff_rank_seed=False, deterministic=False,
                unsafe_load=False, cfg_options=None, launcher='none')
    args.update(kw)
    return argparse.Namespace(**args)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('crash')
    data = root / 'data'
    generate_synthetic_activitynet(str(data), num_train=NUM_TRAIN, num_val=2, seed=11,
                                   cfg=SyntheticConfig(temporal_dim=T, feat_dim=C, num_classes=2))
    config = root / 'bmn_crash.py'
    config.write_text(CONFIG.format(repo=REPO, data=data, T=T, C=C, B=BATCH, E=EPOCHS))
    return dict(root=root, config=str(config))


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_ends_like_an_uninterrupted_run(setup):
    root, config = setup['root'], setup['config']
    # the run that gets killed: a real process, SIGKILLed from inside after iteration 7
    killed = root / 'killed'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, REPO, os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1', MMLOC_TEST_KILL_AT_ITER=str(KILL_AT_ITER))
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(killed)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    names = sorted(os.listdir(killed))
    assert 'epoch_2.pth' in names and 'epoch_3.pth' not in names, names
    assert not [n for n in names if n.endswith('.tmp')], names
    assert find_resume_checkpoint(str(killed)) == str(killed / 'epoch_2.pth')

    # resume it (in this process: the kill hook only fires in the child's environment)
    runner = run_train(build_train_config(_train_args(config, str(killed), resume='auto')))
    assert runner.epoch == EPOCHS and runner.iter == EPOCHS * NUM_TRAIN // BATCH

    reference = root / 'uninterrupted'
    run_train(build_train_config(_train_args(config, str(reference))))

    got = safe_torch_load(str(killed / f'epoch_{EPOCHS}.pth'))
    want = safe_torch_load(str(reference / f'epoch_{EPOCHS}.pth'))
    assert got['meta']['epoch'] == want['meta']['epoch'] == EPOCHS
    assert got['meta']['iter'] == want['meta']['iter']
    # Stated tolerance: 1e-5 absolute on weights and Adam moments. The child ran with one
    # thread and this process may use more, so float reductions can differ in order;
    # the weights move by > 1e-3 over the resumed epochs (checked below).
    assert set(got['state_dict']) == set(want['state_dict'])
    for name, w in want['state_dict'].items():
        torch.testing.assert_close(got['state_dict'][name], w, rtol=0, atol=1e-5,
                                   msg=lambda m, n=name: f'{n}: {m}')
    assert got['param_schedulers'] == want['param_schedulers']
    assert got['optimizer']['param_groups'][0]['lr'] == pytest.approx(1e-4)
    for key, state in want['optimizer']['state'].items():
        assert int(got['optimizer']['state'][key]['step']) == int(state['step'])
        for moment in ('exp_avg', 'exp_avg_sq'):
            torch.testing.assert_close(got['optimizer']['state'][key][moment], state[moment],
                                       rtol=1e-4, atol=1e-8)
    start = safe_torch_load(str(killed / 'epoch_2.pth'))
    moved = max(float((want['state_dict'][k] - start['state_dict'][k]).abs().max())
                for k in want['state_dict'])
    assert moved > 1e-3


def _kill_points(seed: int = 15) -> list:
    """20 seeded kill points: 9 after random iterations, 5 part-way through writing a
    checkpoint (every epoch's save at least once, the last one included), 3 before its fsync,
    3 before the rename that publishes it."""
    import random
    rng = random.Random(seed)
    iters = EPOCHS * NUM_TRAIN // BATCH
    points = [f'iter:{i}' for i in sorted(rng.sample(range(iters), 9))]
    saves = list(range(1, EPOCHS + 1)) + [rng.randint(1, EPOCHS)]
    points += [f'ckpt_write:{n}:{rng.random():.3f}' for n in saves]
    points += [f'ckpt_fsync:{n}' for n in sorted(rng.sample(range(1, EPOCHS + 1), 3))]
    points += [f'ckpt_replace:{n}' for n in sorted(rng.sample(range(1, EPOCHS + 1), 3))]
    return points


def _complete_before(point: str) -> int:
    """How many epoch checkpoints a run killed at ``point`` has published."""
    kind, n = point.split(':')[:2]
    iters_per_epoch = NUM_TRAIN // BATCH
    return int(n) // iters_per_epoch if kind == 'iter' else int(n) - 1


def _train(config, work_dir, kill=None, resume=False):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, REPO, os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.pop('MMLOC_TEST_KILL_AT_ITER', None)
    if kill is not None:
        env['MMLOC_TEST_KILL'] = kill
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir)]
    return subprocess.run(cmd + (['--resume'] if resume else []), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def _assert_same_checkpoint(got_path, want_path):
    got, want = safe_torch_load(str(got_path)), safe_torch_load(str(want_path))
    assert (got['meta']['epoch'], got['meta']['iter']) == (want['meta']['epoch'],
                                                           want['meta']['iter'])
    assert set(got['state_dict']) == set(want['state_dict'])
    for name, w in want['state_dict'].items():
        assert torch.equal(got['state_dict'][name], w), name
    assert got['param_schedulers'] == want['param_schedulers']
    assert got['optimizer']['param_groups'] == want['optimizer']['param_groups']
    for key, state in want['optimizer']['state'].items():
        for field, value in state.items():
            assert torch.equal(torch.as_tensor(got['optimizer']['state'][key][field]),
                               torch.as_tensor(value)), (key, field)


@pytest.mark.slow
def test_sigkill_at_20_seeded_points_then_resume_is_bit_identical(setup):
    """SIGKILL at 20 seeded points, 11 of them inside checkpoint writes: the published
    checkpoints are exactly the complete ones and load, ``--resume`` picks the newest, and
    the resumed run ends bit-identical (weights, Adam moments, schedulers) to an
    uninterrupted one. All runs are processes with one thread, so float sums agree."""
    from concurrent.futures import ThreadPoolExecutor
    root, config = setup['root'], setup['config']
    reference = root / 'reference_1thread'
    proc = _train(config, reference)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def trial(item):
        k, point = item
        work = root / f'kill_{k:02d}'
        proc = _train(config, work, kill=point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-3000:])
        done = _complete_before(point)
        published = sorted(n for n in os.listdir(work) if n.endswith('.pth'))
        assert published == [f'epoch_{e}.pth' for e in range(1, done + 1)], (point, published)
        for e in range(1, done + 1):      # every published checkpoint is whole
            assert safe_torch_load(str(work / f'epoch_{e}.pth'))['meta']['epoch'] == e
        want = str(work / f'epoch_{done}.pth') if done else None
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            assert find_resume_checkpoint(str(work)) == want, point
        stale = sorted(n for n in os.listdir(work) if n.endswith('.tmp'))
        assert bool(stale) == point.startswith('ckpt_'), (point, stale)
        proc = _train(config, work, resume=True)
        assert proc.returncode == 0, (point, proc.stderr[-3000:])
        _assert_same_checkpoint(work / f'epoch_{EPOCHS}.pth', reference / f'epoch_{EPOCHS}.pth')
        assert not [n for n in os.listdir(work) if n.endswith('.tmp')], point  # --resume swept
        return point, done, stale

    points = _kill_points()
    assert len(points) == 20 and sum(p.startswith('ckpt_') for p in points) == 11
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(trial, enumerate(points)))
    for point, done, stale in outcomes:
        print(f'kill at {point}: {done} checkpoint(s) survived, resumed bit-identical'
              + (f', stale temp file {stale[0]} removed by --resume' if stale else ''))


def test_resume_removes_the_killed_runs_checkpoint_temp_files(setup, tmp_path):
    """What a run killed inside a checkpoint save leaves (``.epoch_3.pth.<random>.tmp``) goes
    with ``--resume``; other temp files and runs without ``--resume`` are left alone."""
    work = tmp_path / 'w'
    work.mkdir()
    stale, other = work / '.epoch_3.pth.k2j4x.tmp', work / '.results.json.a1b2c.tmp'
    stale.write_bytes(b'half a checkpoint')
    other.write_text('{')
    build_train_config(_train_args(setup['config'], str(work)))
    assert stale.exists()
    cfg = build_train_config(_train_args(setup['config'], str(work), resume='auto'))
    assert not stale.exists() and other.exists()
    assert not cfg.resume        # a temp file is no checkpoint to resume from


def test_resume_discovery_survives_a_broken_last_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None
    for n in (1, 2, 10):
        (tmp_path / f'epoch_{n}.pth').write_bytes(b'x')
        os.utime(tmp_path / f'epoch_{n}.pth', (n, n))
    (tmp_path / 'best_auc_epoch_10.pth').write_bytes(b'x')
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    # killed while mmengine rewrote it (it does not use a temp file): empty
    pointer.write_text('')
    with pytest.warns(UserWarning, match='last_checkpoint.*not a file'):
        assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    pointer.write_text(str(tmp_path / 'epoch_99.pth'))
    with pytest.warns(UserWarning, match='epoch_99'):
        assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')


def test_runner_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    assert isinstance(get_file_backend(str(path)), AtomicLocalBackend)
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    assert safe_torch_load(str(path))['state_dict']['w'].tolist() == [1.0, 1.0, 1.0]

    def crash(fd):  # the process dies after the bytes went out, before the rename
        raise OSError('simulated crash while saving')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='simulated crash'):
        save_checkpoint({'state_dict': {'w': torch.zeros(1000)}}, str(path))
    monkeypatch.undo()
    # the old checkpoint is intact (mmengine's own backend would have truncated it)
    assert safe_torch_load(str(path))['state_dict']['w'].tolist() == [1.0, 1.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth']


def test_truncated_checkpoint_is_refused_with_its_name(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.arange(1000.0)}}, good)
    raw = good.read_bytes()
    bad = tmp_path / 'cut.pth'
    bad.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(RuntimeError, match=r'cut\.pth: cannot read checkpoint'):
        safe_torch_load(str(bad))


@pytest.mark.parametrize('how', ['resume', 'load_from'])
def test_checkpoint_of_another_model_is_refused_before_training(setup, tmp_path, how):
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'conv1.weight': torch.zeros(3, 3, 3)}, 'meta': {}}, other)
    kw = (dict(resume=str(other)) if how == 'resume'
          else dict(cfg_options={'load_from': str(other)}))
    cfg = build_train_config(_train_args(setup['config'], str(tmp_path / 'w'), **kw))
    with pytest.raises(ValueError, match=r'other\.pth: the checkpoint does not fit the model BMN'):
        run_train(cfg)
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_resume_needs_every_tensor_of_the_model(setup, tmp_path):
    """A BMN checkpoint of another size (here: other hidden widths) cannot be resumed."""
    ref = tmp_path / 'ref'
    cfg = build_train_config(_train_args(setup['config'], str(ref)))
    from mmengine.runner import Runner
    model = Runner.from_cfg(cfg).model
    state = {k: v for k, v in model.state_dict().items()}
    name = next(iter(state))
    state[name] = torch.zeros(1)
    bad = tmp_path / 'bmn_other_width.pth'
    torch.save({'state_dict': state, 'meta': {}}, bad)
    cfg = build_train_config(_train_args(setup['config'], str(tmp_path / 'w'), resume=str(bad)))
    with pytest.raises(ValueError, match=rf'bmn_other_width\.pth.*1 of {len(state)} tensors.*{name}'):
        run_train(cfg)
