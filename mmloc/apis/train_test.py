"""What tools/train.py and tools/test.py do, callable from Python and tests."""
from __future__ import annotations

import glob
import inspect
import logging
import os.path as osp
import re
import warnings

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmloc.engine import load_config, resolve_work_dir, setup_launcher, setup_runtime
from mmloc.registry import METRICS
from mmloc.utils import register_all_modules
from mmloc.utils.cpu_memory import apply_env_cpu_memory
from mmloc.utils.checkpoint import safe_torch_load
from mmloc.utils.io import remove_stale_temp_files

# ``--eval`` names -> the metric config they select.
EVAL_METRICS = {
    'AR@AN': dict(type='ANetMetric', metric_type='AR@AN'),
    'mAP': dict(type='DetectionMetric'),
}


def _set_amp(cfg: Config) -> None:
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp: cannot switch optim_wrapper of type {wrapper} to mixed precision')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        warnings.warn('--amp without CUDA: training with bfloat16 autocast on the CPU')
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'


def find_resume_checkpoint(work_dir: str) -> str | None:
    """The checkpoint ``--resume`` (no value) continues from, or None to start afresh.

    mmengine trusts ``work_dir/last_checkpoint``, which its CheckpointHook writes without
    a temp file: after a crash it can be empty or name a file that is gone, and an empty
    one makes mmengine fail on ``''``. Then fall back to the highest ``epoch_N.pth`` /
    ``iter_N.pth`` (checkpoints themselves are written atomically, see
    ``mmloc.engine.fileio.AtomicLocalBackend``).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            last = f.read().strip()
        if last and osp.isfile(last):
            return last
        warnings.warn(f'{pointer}: names {last!r}, which is not a file; resuming from the '
                      'newest epoch_N.pth / iter_N.pth of the work dir instead')
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((osp.getmtime(path), int(match.group(2)), path))
    return max(found)[2] if found else None


def build_train_config(args) -> Config:
    """Config for training from parsed ``tools/train.py`` arguments (spec §7.1 semantics)."""
    register_all_modules()
    setup_runtime(unsafe_load=getattr(args, 'unsafe_load', False))
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if args.amp:
        _set_amp(cfg)
    if args.resume is not None and osp.isdir(cfg.work_dir):
        # checkpoint temp files of the run being resumed, left if it was killed mid-save
        for path in remove_stale_temp_files(cfg.work_dir, '*.pth'):
            print_log(f'--resume: removed {path}, a checkpoint write the previous run did not '
                      'finish', logger='current', level=logging.WARNING)
    if args.resume == 'auto':
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            print_log(f'--resume: no checkpoint in {cfg.work_dir}; training from scratch',
                      logger='current', level=logging.WARNING)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'{args.resume}: --resume checkpoint not found')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'{args.config}: --auto-scale-lr needs auto_scale_lr.base_batch_size '
                           'in the config')
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness') is None and (args.seed is not None or args.deterministic):
        cfg.randomness = dict(seed=args.seed, diff_rank_seed=args.diff_rank_seed,
                              deterministic=args.deterministic)
    hooks = list(cfg.get('custom_hooks', []) or [])
    if not any(h.get('type') == 'RNGStateHook' for h in hooks):
        hooks.append(dict(type='RNGStateHook'))  # resumable random streams
    cfg.custom_hooks = hooks
    setup_launcher(cfg, args.launcher)
    return cfg


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: str, resume: bool) -> None:
    """Refuse a checkpoint of another model before mmengine loads it with ``strict=False``.

    Resuming needs every parameter with its shape; ``load_from`` (fine-tuning) may be
    partial but must share at least one parameter. Otherwise mmengine only logs the
    missing keys and trains from random weights (or fails later in the optimizer state).
    """
    state = safe_torch_load(checkpoint, map_location='cpu')
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    own = model.state_dict()
    fits = [k for k, v in own.items() if k in state and tuple(state[k].shape) == tuple(v.shape)]
    bad = [k for k in own if k not in fits]
    if (resume and bad) or not fits:
        mapped_fits, mapped_bad = _fit_through_key_maps(model, state, own)
        if len(mapped_fits) > len(fits):    # the model's key map renames this layout
            fits, bad = mapped_fits, mapped_bad
    if (resume and bad) or not fits:
        shown = ', '.join(bad[:3]) + (f' and {len(bad) - 3} more' if len(bad) > 3 else '')
        raise ValueError(f'{checkpoint}: the checkpoint does not fit the model '
                         f'{type(model).__name__} of the config (another model or another '
                         f'config?): {len(bad)} of {len(own)} tensors missing or of another '
                         f'shape: {shown}')


def _fit_through_key_maps(model: torch.nn.Module, state: dict, own: dict):
    """Which of the model's tensors a checkpoint fills once the model's own load hooks have
    mapped its keys (MMAction2 0.x BMN, the AFSD release, upstream ActionFormer layouts): a
    dry run of ``load_state_dict`` on a copy of the model."""
    import copy
    probe = copy.deepcopy(model)
    try:
        missing = set(probe.load_state_dict(dict(state), strict=False).missing_keys)
    except RuntimeError:                 # a shape mismatch after the key map
        return [], list(own)
    # BatchNorm fills an absent num_batches_tracked itself: only parameters prove a fit
    params = {k for k, _ in model.named_parameters()}
    if not any(k in params and k not in missing for k in own):
        return [], list(own)
    return [k for k in own if k not in missing], [k for k in own if k in missing]


def run_train(cfg: Config) -> Runner:
    apply_env_cpu_memory(cfg.get('env_cfg'))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else None
    if runner is None:
        from mmloc.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    if cfg.get('load_from'):
        model = getattr(runner.model, 'module', runner.model)
        check_checkpoint_fits(model, cfg.load_from, bool(cfg.get('resume')))
    runner.train()
    return runner


def _metric_list(evaluator) -> list:
    if evaluator is None:
        return []
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]


def configure_test_evaluator(cfg: Config, eval_metrics=None, out=None, dump=None) -> None:
    """Apply ``--eval``, ``--out`` and ``--dump`` to ``cfg.test_evaluator`` in place."""
    metrics = _metric_list(cfg.get('test_evaluator'))
    if eval_metrics:
        chosen = []
        for name in eval_metrics:
            if name not in EVAL_METRICS:
                raise ValueError(f'--eval {name}: unknown metric; choose from {sorted(EVAL_METRICS)}')
            base = EVAL_METRICS[name]
            same = [m for m in metrics if m.get('type') == base['type']]
            chosen.append(dict(same[0], **base) if same else dict(base))
        # keep metrics that only write files (e.g. BSN TEM outputs) unless replaced
        metrics = chosen
    if out is not None:
        targets = 0
        for metric in metrics:
            params = inspect.signature(METRICS.get(metric['type']).__init__).parameters
            if 'out_file' in params:
                metric['out_file'] = out
                targets += 1
            elif 'out_dir' in params:
                metric['out_dir'] = out
                targets += 1
        if not targets:
            raise ValueError(f'--out {out}: none of the test metrics '
                             f'{[m["type"] for m in metrics]} writes results; add --eval')
    if dump is not None:
        if not dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump {dump}: the file must end with .pkl or .pickle')
        metrics.append(dict(type='DumpResults', out_file_path=dump))
    if not metrics:
        raise ValueError('nothing to do: the config has no test_evaluator; pass --eval and/or --out')
    cfg.test_evaluator = metrics


def build_test_config(args) -> Config:
    """Config for testing from parsed ``tools/test.py`` arguments."""
    register_all_modules()
    setup_runtime(unsafe_load=getattr(args, 'unsafe_load', False))
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'{args.checkpoint}: checkpoint file not found')
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    configure_test_evaluator(cfg, args.eval, args.out, args.dump)
    cfg.load_from = None  # loaded strictly in run_test
    cfg.resume = False
    cfg.test_checkpoint = args.checkpoint
    hooks = list(cfg.get('custom_hooks', []) or [])
    if not any(h.get('type') == 'ProgressBarHook' for h in hooks):
        hooks.append(dict(type='ProgressBarHook'))
    cfg.custom_hooks = hooks
    setup_launcher(cfg, args.launcher)
    return cfg


def run_test(cfg: Config) -> dict:
    """Build the runner, load ``cfg.test_checkpoint`` strictly, test; returns the metrics."""
    checkpoint = cfg.pop('test_checkpoint')
    apply_env_cpu_memory(cfg.get('env_cfg'))
    runner = Runner.from_cfg(cfg)
    try:
        runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
    except RuntimeError as e:
        msg = str(e)
        if 'state_dict' in msg or 'size mismatch' in msg or 'Missing key' in msg or 'unexpected key' in msg:
            model_name = type(runner.model).__name__
            raise ValueError(f'{checkpoint}: the checkpoint does not fit the model {model_name} of '
                             f'the config (another model or another config?): {msg}') from None
        raise
    metrics = runner.test()
    print_log(f'test metrics: {metrics}', logger='current', level=logging.INFO)
    return metrics
