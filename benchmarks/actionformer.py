"""ActionFormer / TriDet speed and memory at the official THUMOS14 shapes, against the official
formulation, ratios in one run.

Shapes: batch 2 of 2304 x 2048 I3D features, the full 6-level pyramid, the THUMOS configs
(``configs/localization/{actionformer,tridet}/*_i3d_thumos14.py``), random weights.
For each model and each path, fresh subprocesses (so that peak RSS figures do not mix;
``--repeat`` of them, interleaved mmloc / reference, min time and max memory) measure: a
training step (forward + loss + backward + AdamW, gradient clipping 1.0; min over the timed
steps after one warm-up step), the peak RSS of training (``ru_maxrss`` after it;
``torch.cuda.max_memory_allocated`` on CUDA), inference per video (batch 1, no grad) and
post-processing per video (decoding + multi-class Soft-NMS on that video's outputs).

Paths (``benchmarks/actionformer_reference.py`` switches a process to the reference):
  * ``mmloc``: the package as configured (banded local attention through
    ``scaled_dot_product_attention``, vectorised float32 Soft-NMS).
  * ``reference``: the official formulation: ActionFormer's sliding-chunk local attention
    (spec §2.4, ``mmloc.testing.actionformer_reference.sliding_chunk_attention``), TriDet's
    Trident windows built bin by bin, and per class the Soft-NMS loop of the C++ kernel
    transcribed candidate by candidate (spec §6.2). The official kernel is compiled C++, so
    the post-processing ratio is against a Python transcription of it, not against the kernel.

The mmloc child also checks that no T x T attention matrix is built (it records the key
length of every ``scaled_dot_product_attention`` call) and profiles one training step
(``torch.profiler``, the top operators by self time). Both paths compute the same numbers:
the first-step losses of the two children are compared, and the reference child runs both
NMS on the same candidates (bit-equal detections required).

Examples:
    python benchmarks/actionformer.py                    # CPU, 2 threads, both models
    python benchmarks/actionformer.py --device cuda --steps 5
    python benchmarks/actionformer.py --quick            # tiny shapes (the test)
"""
import argparse
import json
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

CONFIGS = dict(
    actionformer='configs/localization/actionformer/actionformer_i3d_thumos14.py',
    tridet='configs/localization/tridet/tridet_i3d_thumos14.py')
PATHS = ('mmloc', 'reference')
#: (length, channels, width) of --quick: 576 = the smallest THUMOS-window pyramid length
QUICK = (576, 32, 32)
QUICK_TOPK = 100


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--threads', type=int, default=2, help='torch threads on the CPU')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--steps', type=int, default=2, help='timed training steps')
    parser.add_argument('--videos', type=int, default=2, help='timed inference videos')
    parser.add_argument('--quick', action='store_true',
                        help=f'tiny shapes {QUICK} (length, channels, width), 1 step, '
                        f'pre-NMS top-k {QUICK_TOPK}')
    parser.add_argument('--repeat', type=int, default=2,
                        help='children per path, interleaved mmloc / reference; times are '
                        'the min over them, memory the max (a shared machine is noisy)')
    parser.add_argument('--no-profile', action='store_true')
    parser.add_argument('--child', nargs=2, metavar=('MODEL', 'PATH'), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- child process
def _model_cfg(name: str, quick: bool):
    """The THUMOS config's model (``--quick``: input ``QUICK[1]`` channels, width ``QUICK[2]``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[name])).model
    if quick:
        _, c, d = QUICK
        cfg.backbone.update(in_channels=c, dim=d)
        if name == 'tridet':
            cfg.backbone.mlp_dim = d
        cfg.neck.dim = d
        cfg.test_cfg.pre_nms_topk = QUICK_TOPK     # keeps the reference NMS loop short
        for head in ('cls_head', 'reg_head', 'start_head', 'end_head'):
            if head in cfg:
                cfg[head].update(in_channels=d, dim=d)
    return cfg


def _batch(model, batch: int, length: int, channels: int, device):
    """Seeded features ``(B, C, T)`` and samples with grid-unit GT (THUMOS-like lengths)."""
    import numpy as np
    import torch
    from mmengine.structures import InstanceData

    from mmloc.structures import LocalizationDataSample, TimeGrid
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.randn(batch, channels, length, generator=g).to(device)
    samples = []
    for i in range(batch):
        starts = rng.uniform(0, length * 0.9, 12)
        segs = np.stack([starts, starts + rng.uniform(4, length * 0.08, 12)], 1)
        s = LocalizationDataSample(metainfo=dict(
            valid_length=length, video_name=f'video_{i}',
            time_grid=TimeGrid.from_features(length, 30, 4, 16, (length * 4 + 12) / 30)))
        s.gt_instances = InstanceData(segments=segs.astype(np.float32),
                                      labels=rng.integers(0, model.num_classes, 12))
        samples.append(s)
    return x, samples


def _sync(device: str) -> None:
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _timed(fn, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _top_ops(prof, device: str, n: int = 12) -> list:
    """``[(op, self ms, share of the step)]`` by self time, and the share of convolutions."""
    key = 'self_device_time_total' if device.startswith('cuda') else 'self_cpu_time_total'
    events = [e for e in prof.key_averages() if getattr(e, key) > 0]
    total = sum(getattr(e, key) for e in events)
    events.sort(key=lambda e: -getattr(e, key))
    return [(e.key, getattr(e, key) / 1e3, getattr(e, key) / total) for e in events[:n]], \
        sum(getattr(e, key) for e in events if 'conv' in e.key.lower()) / total


def _kernel_times(name: str, length: int, device: str, repeats: int = 3) -> dict:
    """The one piece the two paths compute differently, forward + backward at level-0 shapes,
    both formulations interleaved in this process (min over ``repeats``): ActionFormer's local
    attention (``(2, 4, T, 128)``, window 19), TriDet's Trident decoding (``(2, T, 20)``
    boundary logits, 16 bins). Returns ``{'mmloc_s', 'reference_s'}``."""
    import torch

    from mmloc.models.actionformer.attention import local_attention
    from mmloc.models.actionformer.decoding import trident_offsets
    from mmloc.testing.actionformer_reference import (shifted_trident_offsets,
                                                      sliding_chunk_attention)
    g = torch.Generator().manual_seed(1)
    if name == 'actionformer':
        inputs = [torch.randn(2, 4, length, 128, generator=g).to(device).requires_grad_()
                  for _ in range(3)]
        mask = (torch.arange(length) < length - 100)[None].repeat(2, 1).to(device)
        fns = dict(mmloc=lambda: local_attention(*inputs, mask, 19),
                   reference=lambda: sliding_chunk_attention(*inputs, mask, 19))
    else:
        inputs = [torch.randn(2, length, 20, generator=g).to(device).requires_grad_()
                  for _ in range(2)]
        inputs.append(torch.randn(2, length, 34, generator=g).to(device).requires_grad_())
        fns = dict(mmloc=lambda: trident_offsets(*inputs, 16),
                   reference=lambda: shifted_trident_offsets(*inputs, 16))
    best = {}
    for _ in range(repeats):
        for key, fn in fns.items():
            t = _timed(lambda: fn().sum().backward(), device)
            best[key] = min(best.get(key, t), t)
    return {f'{k}_s': v for k, v in best.items()}


def run_child(name: str, path: str, args) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from actionformer_reference import use_reference_formulation
    from mmloc.models.actionformer.decoding import decode_video
    from mmloc.registry import MODELS
    from mmloc.testing.actionformer_reference import kernel_multiclass_nms
    from mmloc.utils import register_all_modules
    register_all_modules()
    torch.set_num_threads(args.threads)
    if path == 'reference':
        use_reference_formulation()
    length, channels = (QUICK[0], QUICK[1]) if args.quick else (2304, 2048)
    device = args.device
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(name, args.quick)).to(device)
    model.backbone.apply(lambda m: setattr(m, 'drop_prob', 0.0) if hasattr(m, 'drop_prob')
                         else None)          # same numbers on both paths
    if hasattr(model, 'input_noise'):
        model.input_noise = 0.0
    x, samples = _batch(model, args.batch, length, channels, device)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    key_lengths = []
    real_sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, *a, **kw):
        key_lengths.append(int(k.shape[-2]))
        return real_sdpa(q, k, v, *a, **kw)

    def step():
        losses = model(x, samples, mode='loss')
        loss = sum(losses.values())
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        return float(loss.detach())

    model.train()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    F.scaled_dot_product_attention = spy
    first_loss = step()                                            # warm-up, loss compared
    F.scaled_dot_product_attention = real_sdpa
    steps = 1 if args.quick else args.steps
    train_s = min(_timed(step, device) for _ in range(steps))
    result = dict(model=name, path=path, loss=first_loss, train_step_s=train_s,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  cuda_peak_mb=(torch.cuda.max_memory_allocated() / 2 ** 20
                                if device.startswith('cuda') else None),
                  max_attention_keys=max(key_lengths, default=0), level0_length=length,
                  params=sum(p.numel() for p in model.parameters()))
    if path == 'mmloc' and not args.no_profile:
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                         if device.startswith('cuda') else [])
        with profile(activities=acts) as prof:
            step()
            _sync(device)
        result['top_ops'], result['conv_share'] = _top_ops(prof, device)
        result['kernel'] = _kernel_times(name, length, device)
    # inference per video (batch 1, padded to max_seq_len as upstream) and post-processing
    model.eval()
    one = x[:1]
    with torch.no_grad():
        model(one, samples[:1], mode='tensor')                      # warm-up
        result['infer_video_s'] = min(_timed(lambda: model(one, samples[:1], mode='tensor'),
                                             device) for _ in range(args.videos))
        out = model(one, samples[:1], mode='tensor')
    cfg = model.test_cfg
    level_out = ([c[0].cpu() for c in out['cls']], [o[0].cpu() for o in out['offsets']],
                 [m[0].cpu() for m in out['masks']], [p.cpu() for p in out['points']])

    def decode():
        segs, scores, labels = decode_video(
            *level_out, pre_nms_thresh=cfg['pre_nms_thresh'], pre_nms_topk=cfg['pre_nms_topk'],
            duration_thresh=cfg['duration_thresh'])
        return segs.numpy(), scores.numpy(), labels.numpy()

    def postprocess():
        if path == 'reference':
            return kernel_multiclass_nms(*decode(), cfg['nms_sigma'], cfg['min_score'],
                                         cfg['max_seg_num'])
        return model._nms(*decode())

    t0 = time.perf_counter()
    dets = postprocess()
    result['postprocess_video_s'] = time.perf_counter() - t0
    result['detections'] = int(len(dets[1]))
    if path == 'reference':   # same candidates through the package: the same detections
        ours = model._nms(*decode())
        result['nms_equal'] = all(np.array_equal(a, b) for a, b in zip(ours, dets))
    return result


# ----------------------------------------------------------------------------- parent
def _spawn(name: str, path: str, argv: list) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, osp.abspath(__file__), *argv, '--child', name, path],
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f'{name}/{path} child failed:\n{proc.stdout[-2000:]}'
                           f'{proc.stderr[-4000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _merge(runs: list) -> dict:
    """One path's children as one: min of the times, max of the memory peaks."""
    out = dict(runs[0])
    for key in ('train_step_s', 'infer_video_s', 'postprocess_video_s'):
        out[key] = min(r[key] for r in runs)
    for key in ('peak_rss_mb', 'cuda_peak_mb'):
        out[key] = None if out[key] is None else max(r[key] for r in runs)
        out[key + '_min'] = None if out[key] is None else min(r[key] for r in runs)
    out['nms_equal'] = all(r.get('nms_equal', True) for r in runs)
    out['children'] = len(runs)
    return out


def _ratio(ref: float, ours: float) -> float:
    return ref / ours if ours else float('nan')


def report(name: str, ours: dict, ref: dict) -> dict:
    """Print one model's figures; return its summary (ratios = reference / mmloc)."""
    if ours['max_attention_keys'] >= ours['level0_length']:
        raise AssertionError(f'{name}: an attention call saw {ours["max_attention_keys"]} keys '
                             f'(level-0 length {ours["level0_length"]}): a T x T matrix')
    loss_rel = abs(ours['loss'] - ref['loss']) / max(abs(ref['loss']), 1e-12)
    if loss_rel > 1e-4 or not ref['nms_equal']:
        raise AssertionError(f'{name}: the paths disagree: loss {ours["loss"]} vs {ref["loss"]}, '
                             f'NMS equal on the same candidates: {ref["nms_equal"]}')
    mem = 'cuda_peak_mb' if ours['cuda_peak_mb'] is not None else 'peak_rss_mb'
    summary = dict(
        model=name, params=ours['params'], loss_rel_diff=loss_rel,
        train_step_s=ours['train_step_s'], ref_train_step_s=ref['train_step_s'],
        train_speedup=_ratio(ref['train_step_s'], ours['train_step_s']),
        peak_mb=ours[mem], ref_peak_mb=ref[mem], peak_memory_ratio=ours[mem] / ref[mem],
        peak_mb_min=ours[mem + '_min'], ref_peak_mb_min=ref[mem + '_min'],
        memory_kind=mem, infer_video_s=ours['infer_video_s'],
        ref_infer_video_s=ref['infer_video_s'],
        infer_speedup=_ratio(ref['infer_video_s'], ours['infer_video_s']),
        postprocess_video_s=ours['postprocess_video_s'],
        ref_postprocess_video_s=ref['postprocess_video_s'],
        postprocess_speedup=_ratio(ref['postprocess_video_s'], ours['postprocess_video_s']),
        detections=ours['detections'], max_attention_keys=ours['max_attention_keys'],
        conv_share=ours.get('conv_share'), children_per_path=ours['children'],
        kernel=ours.get('kernel'))
    print(f'\n== {name}: {ours["params"]:,} parameters, {ours["children"]} child(ren) per path; '
          f'first-step loss equal to '
          f'{loss_rel:.1e} (relative); on the same candidates both NMS give the same '
          f'{ref["detections"]} detections')
    print(f'{"":28s}{"mmloc":>12s}{"official form":>15s}{"ratio":>8s}')
    rows = [('training step [s]', 'train_step_s', 'train_speedup'),
            (f'{"CUDA peak" if mem == "cuda_peak_mb" else "peak RSS"} (training) [MiB]',
             'peak_mb', None),
            ('inference per video [s]', 'infer_video_s', 'infer_speedup'),
            ('post-processing per video [s]', 'postprocess_video_s', 'postprocess_speedup')]
    for label, key, ratio in rows:
        r = summary[ratio] if ratio else summary['peak_memory_ratio']
        print(f'{label:28s}{summary[key]:12.3f}{summary["ref_" + key]:15.3f}'
              f'{("x%.2f" % r) if ratio else ("%.2f" % r):>8s}')
    print(f'peak memory over the children: mmloc {summary["peak_mb_min"]:.0f}-'
          f'{summary["peak_mb"]:.0f} MiB, official form {summary["ref_peak_mb_min"]:.0f}-'
          f'{summary["ref_peak_mb"]:.0f} MiB')
    if ours['max_attention_keys']:
        print(f'largest attention key length {ours["max_attention_keys"]} < T = '
              f'{ours["level0_length"]}: no T x T attention matrix')
    else:
        print('no attention call (SGP backbone): no T x T attention matrix')
    if ours.get('kernel'):
        k = ours['kernel']
        what = 'local attention' if name == 'actionformer' else 'Trident decoding'
        print(f'{what} alone, fwd+bwd at level 0, both in one process: mmloc '
              f'{k["mmloc_s"]:.3f} s, official form {k["reference_s"]:.3f} s '
              f'(x{_ratio(k["reference_s"], k["mmloc_s"]):.2f})')
    if 'top_ops' in ours:
        print(f'where the training step goes (self time; convolutions '
              f'{100 * ours["conv_share"]:.0f} %):')
        for op, ms, share in ours['top_ops']:
            print(f'  {op:44s}{ms:10.1f} ms {100 * share:5.1f} %')
    return summary


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(*args.child, args)))
        return
    argv = ['--device', args.device, '--threads', str(args.threads), '--batch',
            str(args.batch), '--steps', str(args.steps), '--videos', str(args.videos)]
    argv += ['--quick'] * args.quick + ['--no-profile'] * args.no_profile
    import torch
    length, channels = (QUICK[0], QUICK[1]) if args.quick else (2304, 2048)
    cuda = args.device.startswith('cuda')
    where = torch.cuda.get_device_name() if cuda else platform.machine()
    print(f'ActionFormer / TriDet benchmark: batch {args.batch} x {length} x {channels}, '
          f'device {args.device} ({where}, {args.threads} threads), torch {torch.__version__}; '
          'ratios = official form / mmloc')
    summaries = []
    for name in args.models:
        runs = {path: [] for path in PATHS}
        for i in range(1 if args.quick else max(args.repeat, 1)):
            for path in PATHS:
                runs[path].append(_spawn(name, path, argv + ['--no-profile'] * (i > 0)))
        summaries.append(report(name, *(_merge(runs[path]) for path in PATHS)))
    print(json.dumps(dict(benchmark='actionformer', device=args.device, threads=args.threads,
                          batch=args.batch, length=length, channels=channels,
                          quick=args.quick, models=summaries)))


if __name__ == '__main__':
    main()
