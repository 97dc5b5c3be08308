"""BMN training step against this machine's FLOP floor (default 400x100 config, batch 8).

In one run it:

1. counts the FLOPs of one training step (forward, BMNLoss, backward) with
   ``torch.utils.flop_counter.FlopCounterMode`` (and the forward's per top-level module),
   for each variant: the default computes the 2-D head on the valid triangle only
   (``bm_region='auto'``), ``full_map`` on the whole T x T map as MMAction2 (the issue's
   216 GFLOP); the fused BM
   layer's ``embedding_bag`` (which the counter does not know) is counted as 2 FLOPs per
   weighted row read;
2. measures this machine's fp32 peak: a square GEMM (``torch.mm``), the step's
   dominant convolution (PEM 3x3, 128 -> 128 channels over the (8, 100, 100) map,
   channels-last) and a 512 -> 512 ``Conv1d``, forward only, median of ``--peak-repeat``
   runs (the convolutions: best of 3 such medians on fresh tensors); the peak is the
   fastest of them;
3. times the step as the runner does it (``model.train_step``: forward, loss, backward,
   gradient clipping, Adam), median of ``--steps`` after one warm-up, for each of
   ``--variants`` (``default``; ``full_map``: ``bm_region='full'``; ``channels_last``: the
   2-D PEM convolutions' weights in channels-last memory format), and checks that every
   variant gives the default's loss and gradients;
4. prints achieved GFLOP/s, each variant's floor (its FLOPs / best peak), step / floor,
   step / the full-map floor (the floor of the work MMAction2's formulation does) and the run's
   ``other_cpu_load`` (cores used by other processes meanwhile). The last line
   is one JSON object.

    python benchmarks/bmn_floor.py [--threads 2] [--steps 3] [--batch 8]
"""
from __future__ import annotations

import argparse
import json
import math
import os.path as osp
import sys

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))
from timing import median_time  # noqa: E402

CONFIG = 'configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py'


def embedding_bag_flops(weight_shape, indices_shape, *args, out_shape=None, **kwargs) -> int:
    """``embedding_bag(mode='sum', per_sample_weights)``: a multiply-add per row element."""
    return 2 * math.prod(indices_shape) * weight_shape[1]


def count_flops(step) -> tuple[int, dict]:
    """(total FLOPs, {top-level module: FLOPs}) of one call of ``step``."""
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    custom = {aten._embedding_bag.default: embedding_bag_flops,
              aten._embedding_bag_forward_only.default: embedding_bag_flops}
    with FlopCounterMode(display=False, custom_mapping=custom) as counter:
        step()
    per_module = {}
    for name, ops in counter.get_flop_counts().items():
        parts = name.split('.')
        if len(parts) == 2:                    # 'BMN.x_2d_p' (depth 1 under the root)
            per_module[parts[1]] = int(sum(ops.values()))
    return int(counter.get_total_flops()), per_module


def gemm_peak(n: int, repeat: int) -> float:
    """fp32 GFLOP/s of an (n x n) @ (n x n) product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    return 2 * n ** 3 / median_time(lambda: torch.mm(a, b, out=out), repeat) / 1e9


def _best_conv_gflops(make_conv, input_shape, flops: int, repeat: int, attempts: int,
                      channels_last: bool = False) -> float:
    """fp32 GFLOP/s of ``make_conv()`` on an input of ``input_shape`` (forward, no grad): the
    best of ``attempts`` medians, each on freshly allocated weights and input (one attempt
    was bimodal between processes, 236 or ~450 GFLOP/s on a 2-core Zen 5; a peak must not be
    the slow mode)."""
    best = 0.0
    for _ in range(attempts):
        conv, x = make_conv(), torch.randn(*input_shape)
        if channels_last:
            conv, x = (t.to(memory_format=torch.channels_last) for t in (conv, x))
        with torch.no_grad():
            best = max(best, flops / median_time(lambda: conv(x), repeat) / 1e9)
    return best


def conv_peak(batch: int, channels: int, size: int, repeat: int, attempts: int = 3) -> float:
    """fp32 GFLOP/s of the PEM 3x3 convolution (forward, channels-last, no grad), best of
    ``attempts`` (:func:`_best_conv_gflops`)."""
    return _best_conv_gflops(lambda: torch.nn.Conv2d(channels, channels, 3, padding=1),
                             (batch, channels, size, size),
                             2 * batch * channels * channels * 9 * size * size, repeat,
                             attempts, channels_last=True)


def conv1d_peak(repeat: int, attempts: int = 3) -> float:
    """fp32 GFLOP/s of a ``Conv1d(512, 512, 3)`` over (16, 512, 100) (BSN TEM's layer;
    forward, no grad), best of ``attempts``: a 1-D convolution has no Winograd path, so this
    peak counts only FLOPs that run."""
    return _best_conv_gflops(lambda: torch.nn.Conv1d(512, 512, 3, padding=1), (16, 512, 100),
                             2 * 16 * 512 * 512 * 3 * 100, repeat, attempts)


def build(variant: str, seed: int):
    """The default config's BMN (weights from ``seed``) and its optimiser wrapper."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from mmloc.registry import MODELS
    from mmloc.utils.cpu_memory import apply_env_cpu_memory
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    apply_env_cpu_memory(cfg.get('env_cfg'))      # as tools/train.py does
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if variant == 'channels_last':
        model.x_2d_p.to(memory_format=torch.channels_last)
    elif variant == 'full_map':
        model.bm_region = 'full'
    elif variant != 'default':
        raise ValueError(f'unknown variant {variant!r}')
    return model, build_optim_wrapper(model, cfg.optim_wrapper), cfg


def make_batch(cfg, batch: int, seed: int) -> dict:
    """A collated training batch from seeded features and ground truth (config pipeline
    without the file loading)."""
    from mmengine.dataset import Compose

    from mmloc.datasets.collate import localization_collate
    rng = np.random.default_rng(seed)
    steps = Compose([t for t in cfg.train_pipeline if t['type'] != 'LoadLocalizationFeature'])
    m = cfg.model
    packed = []
    for i in range(batch):
        starts = rng.uniform(0, 100, 3)
        anns = [dict(segment=[float(s), float(min(s + rng.uniform(5, 60), 120))],
                     label='a') for s in starts]
        packed.append(steps(dict(
            video_name=f'v_{i}', duration_second=120.0, duration_frame=3600,
            feature_frame=3600, annotations=anns,
            raw_feature=rng.standard_normal((m.feat_dim, m.temporal_dim), np.float32))))
    return localization_collate(packed)


def loss_and_grads(model, data) -> tuple:
    """Loss and flat gradient of one forward/backward (same PEM sampling seed)."""
    model.zero_grad()
    torch.manual_seed(123)
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    losses['loss'].backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])
    return losses['loss'].item(), grad.clone()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--variants', default='default,full_map')
    ap.add_argument('--gemm-size', type=int, default=2048)
    ap.add_argument('--peak-repeat', type=int, default=5)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    from machine_load import LoadMeter
    meter = LoadMeter()
    torch.set_num_threads(args.threads)
    from mmloc.utils import register_all_modules
    register_all_modules()
    variants = args.variants.split(',')

    model, optim, cfg = build('default', args.seed)
    data = make_batch(cfg, args.batch, args.seed)

    def step_flops(m):
        return count_flops(
            lambda: m(**m.data_preprocessor(data, True), mode='loss')['loss'].backward())[0]

    flops = step_flops(model)
    full_flops = step_flops(build('full_map', args.seed)[0])
    with torch.no_grad():    # per module: the forward (the backward is about twice that)
        fwd_flops, per_module = count_flops(lambda: model(data['inputs'], mode='tensor'))
    ref_loss, ref_grad = loss_and_grads(model, data)

    peaks = dict(gemm=gemm_peak(args.gemm_size, args.peak_repeat),
                 conv3x3=conv_peak(args.batch, cfg.model.hidden_dim_2d, cfg.model.temporal_dim,
                                   args.peak_repeat),
                 conv1d=conv1d_peak(args.peak_repeat))
    peak = max(peaks.values())
    full_floor_s = full_flops / (peak * 1e9)
    out = dict(threads=torch.get_num_threads(), batch=args.batch, gflop_per_step=flops / 1e9,
               gflop_per_step_full_map=full_flops / 1e9, gflop_forward=fwd_flops / 1e9,
               forward_gflop_per_module={k: round(v / 1e9, 2) for k, v in per_module.items()},
               peak_gflops={k: round(v, 1) for k, v in peaks.items()},
               floor_s=flops / (peak * 1e9), full_map_floor_s=full_floor_s)
    for variant in variants:
        model, optim, _ = build(variant, args.seed)
        var_flops = full_flops if variant == 'full_map' else step_flops(model)
        floor_s = var_flops / (peak * 1e9)
        loss, grad = loss_and_grads(model, data)
        step = median_time(lambda: model.train_step(data, optim), args.steps)
        out[variant] = dict(step_s=step, gflop=var_flops / 1e9,
                            achieved_gflops=var_flops / step / 1e9,
                            achieved_over_peak=var_flops / step / 1e9 / peak,
                            step_over_floor=step / floor_s,
                            step_over_full_map_floor=step / full_floor_s,
                            loss_diff=abs(loss - ref_loss),
                            grad_max_diff=float((grad - ref_grad).abs().max()))
        print(f'{variant:>14}: step {step:.3f} s, {var_flops / 1e9:.1f} GFLOP, '
              f'{var_flops / step / 1e9:.1f} GFLOP/s = {var_flops / step / 1e9 / peak:.2f} of '
              f'peak, {step / floor_s:.2f}x its floor, {step / full_floor_s:.2f}x the full-map '
              f'floor (|loss diff| {out[variant]["loss_diff"]:.1e}, max |grad diff| '
              f'{out[variant]["grad_max_diff"]:.1e})', flush=True)
    print(f'{flops / 1e9:.1f} GFLOP per step (forward + loss + backward; full map '
          f'{full_flops / 1e9:.1f}), forward {fwd_flops / 1e9:.1f} GFLOP: '
          f'{out["forward_gflop_per_module"]}; peak fp32 GFLOP/s {out["peak_gflops"]}; floor '
          f'{out["floor_s"]:.3f} s (full map {full_floor_s:.3f} s)')
    out['other_cpu_load'] = meter.other_cpu_load()
    print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
