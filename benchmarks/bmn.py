"""Benchmark BMN's fused sparse BM layer against MMAction2's dense path.

For the default 400x100 config (batch 8 for training) on the current device it measures,
for each path in its **own process** (so that peak memory is per path):

* one training step: forward + backward + Adam step (``--steps`` timed steps after warm-up);
* inference (forward, batch 1) per video;

Times are the minimum over the repeats (the figure least disturbed by other load on a
shared machine); the means are printed and stored too (``*_mean``).
* peak memory (CPU: peak RSS of the process; CUDA: ``max_memory_allocated``);

and, in this process, post-processing per video (candidate selection, score fusion,
Soft-NMS, top-k) of the vectorised code against a per-pair Python loop written like
MMAction2's. Both paths start from the same seed (same weights, same inputs); their
outputs are compared (``max_abs_diff``). The last line printed is one JSON object.

Usage (see docs/benchmarks.md)::

    python benchmarks/bmn.py --threads 2            # CPU
    python benchmarks/bmn.py --device cuda          # GPU
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tests', 'models'))
from bmn_loop_reference import loop_post_processing  # noqa: E402

# ----------------------------------------------------------------------------- worker
def _peak_memory_mb(device: str) -> float:
    import torch
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _sync(device: str) -> None:
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def run_worker(args) -> dict:
    import torch
    from mmengine.structures import InstanceData

    from mmloc.models import BMN
    from mmloc.structures import LocalizationDataSample

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    torch.manual_seed(args.seed)
    model = BMN(temporal_dim=args.temporal_dim, boundary_ratio=0.5, num_samples=args.num_samples,
                num_samples_per_bin=3, feat_dim=args.feat_dim, soft_nms_alpha=0.4,
                soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9,
                post_process_top_k=100, bm_layer=args.worker).to(device)
    gen = torch.Generator().manual_seed(args.seed + 1)
    T, B = args.temporal_dim, args.batch
    x = torch.randn(B, args.feat_dim, T, generator=gen).to(device)
    samples = []
    rng = np.random.default_rng(args.seed)
    for i in range(B):
        starts = rng.uniform(0, 0.7, 3)
        gt = np.stack([starts, np.minimum(starts + rng.uniform(0.05, 0.5, 3), 1.0)], axis=1)
        s = LocalizationDataSample(metainfo=dict(video_name=f'v_bench{i}'))
        s.gt_instances = InstanceData(segments=torch.tensor(gt, dtype=torch.float32))
        samples.append(s)

    # Outputs on the same inputs, for the fast-vs-dense difference (before any update).
    with torch.no_grad():
        bm, start, end = model(x[:2])
    np.savez(args.out_arrays, bm=bm.cpu().numpy(), start=start.cpu().numpy(),
             end=end.cpu().numpy())
    del bm, start, end
    base_mem = _peak_memory_mb(device)

    optim = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    step_times = []
    for it in range(args.warmup + args.steps):
        torch.manual_seed(args.seed + 2 + it)         # same PEM sampling in both paths
        _sync(device)
        t0 = time.perf_counter()
        losses = model(x, samples, mode='loss')
        optim.zero_grad()
        losses['loss'].backward()
        optim.step()
        _sync(device)
        if it >= args.warmup:
            step_times.append(time.perf_counter() - t0)
        del losses
    train_peak = _peak_memory_mb(device)

    model.eval()
    infer_times = []
    with torch.no_grad():
        for it in range(args.warmup + args.infer_videos):
            xi = x[it % B:it % B + 1]
            _sync(device)
            t0 = time.perf_counter()
            model(xi)
            _sync(device)
            if it >= args.warmup:
                infer_times.append(time.perf_counter() - t0)
    # min over repeats is the figure least disturbed by other load on a shared machine
    return dict(path=args.worker, train_step_s=float(np.min(step_times)),
                train_step_mean_s=float(np.mean(step_times)), train_step_all_s=step_times,
                infer_per_video_s=float(np.min(infer_times)),
                infer_per_video_mean_s=float(np.mean(infer_times)),
                peak_mem_mb=_peak_memory_mb(device), train_peak_mem_mb=train_peak,
                mem_before_train_mb=base_mem, threads=torch.get_num_threads())


# ----------------------------------------------------------------------------- post-processing
def _loop_postprocess(ss, es, cls, reg, alpha=0.4, low=0.5, high=0.9, top_k=100, dur=100.0):
    """MMAction2-style per-pair Python loops: candidates here, then the Soft-NMS + top-k loop
    reference of the tests (tests/models/bmn_loop_reference.py)."""
    T = len(ss)
    sb, eb = [0] * T, [0] * T
    sb[0] = eb[T - 1] = 1
    ms, me = max(ss), max(es)
    for i in range(1, T - 1):
        if (ss[i] > ss[i + 1] and ss[i] > ss[i - 1]) or ss[i] > 0.5 * ms:
            sb[i] = 1
        if (es[i] > es[i + 1] and es[i] > es[i - 1]) or es[i] > 0.5 * me:
            eb[i] = 1
    rows = []
    for d in range(T):
        for s in range(T):
            e = s + d + 1
            if e < T and sb[s] and eb[e]:
                rows.append([s / T, e / T, ss[s] * es[e] * cls[d, s] * reg[d, s]])
    return loop_post_processing(rows, dur, alpha, low, high, top_k)


def bench_postprocessing(temporal_dim: int, videos: int, seed: int, repeats: int = 3) -> dict:
    from mmloc.models import bmn_candidates
    from mmloc.models.utils import post_processing

    rng = np.random.default_rng(seed)
    inputs = []
    for i in range(videos):
        # Boundary curves from peaky (few candidates) to flat (almost all pairs kept).
        sharp = 1.0 + 6.0 * i / max(videos - 1, 1)
        ss = (rng.uniform(size=temporal_dim) ** sharp).astype(np.float32)
        es = (rng.uniform(size=temporal_dim) ** sharp).astype(np.float32)
        cls, reg = rng.uniform(size=(2, temporal_dim, temporal_dim)).astype(np.float32)
        inputs.append((ss, es, cls, reg))
    fast_t, loop_t, counts, worst = [], [], [], 0.0
    for ss, es, cls, reg in inputs:
        best_fast = best_loop = float('inf')
        for _ in range(repeats):                        # min of repeats, per video
            t0 = time.perf_counter()
            rows = bmn_candidates(ss, es, cls, reg)
            seg, sc = post_processing(rows, 100.0, 0.4, 0.5, 0.9, 100)
            best_fast = min(best_fast, time.perf_counter() - t0)
            t0 = time.perf_counter()
            ref = _loop_postprocess(ss, es, cls, reg)
            best_loop = min(best_loop, time.perf_counter() - t0)
        fast_t.append(best_fast)
        loop_t.append(best_loop)
        counts.append(len(rows))
        if len(ref) != len(sc):
            worst = float('inf')
        elif ref:
            ref = np.array(ref)
            worst = max(worst, float(np.abs(seg - ref[:, :2]).max()),
                        float(np.abs(sc - ref[:, 2]).max()))
    return dict(fast_s=float(np.mean(fast_t)), loop_s=float(np.mean(loop_t)),
                candidates_min=int(min(counts)), candidates_max=int(max(counts)),
                candidates_mean=float(np.mean(counts)), max_abs_diff_vs_loop=worst)


# ----------------------------------------------------------------------------- driver
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default=None, help='cpu | cuda (default: cuda if available)')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--temporal-dim', type=int, default=100)
    parser.add_argument('--feat-dim', type=int, default=400)
    parser.add_argument('--num-samples', type=int, default=32)
    parser.add_argument('--steps', type=int, default=3, help='timed training steps per path')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--infer-videos', type=int, default=5)
    parser.add_argument('--postproc-videos', type=int, default=8)
    parser.add_argument('--paths', default='fused,dense')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--out-json', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--out-arrays', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.threads:
        os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))

    if args.worker:
        result = run_worker(args)
        with open(args.out_json, 'w') as f:
            json.dump(result, f)
        return

    paths = args.paths.split(',')
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            out_json = os.path.join(tmp, f'{path}.json')
            out_arrays = os.path.join(tmp, f'{path}.npz')
            cmd = [sys.executable, os.path.abspath(__file__), '--worker', path,
                   '--out-json', out_json, '--out-arrays', out_arrays]
            for key in ('device', 'threads', 'batch', 'temporal_dim', 'feat_dim', 'num_samples',
                        'steps', 'warmup', 'infer_videos', 'seed'):
                cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
            print(f'[{path}] running in a separate process ...', flush=True)
            subprocess.run(cmd, check=True)
            with open(out_json) as f:
                results[path] = json.load(f)
            results[path]['arrays'] = dict(np.load(out_arrays))
            r = results[path]
            print(f"[{path}] train step (fwd+bwd+Adam, batch {args.batch}): min "
                  f"{r['train_step_s']:.3f} s, mean {r['train_step_mean_s']:.3f} s "
                  f"{[round(t, 3) for t in r['train_step_all_s']]}; inference: min "
                  f"{r['infer_per_video_s'] * 1e3:.1f} ms/video, mean "
                  f"{r['infer_per_video_mean_s'] * 1e3:.1f} ms; "
                  f"peak memory: {r['peak_mem_mb']:.0f} MB "
                  f"(before training {r['mem_before_train_mb']:.0f} MB); threads {r['threads']}",
                  flush=True)

    post = bench_postprocessing(args.temporal_dim, args.postproc_videos, args.seed)
    print(f"post-processing per video: vectorised {post['fast_s'] * 1e3:.2f} ms, per-pair loop "
          f"{post['loop_s'] * 1e3:.2f} ms ({post['candidates_min']}-{post['candidates_max']} "
          f"candidates; max |diff| {post['max_abs_diff_vs_loop']:.2e})")

    summary = dict(device=args.device if args.device != 'cpu' else
                   f"cpu ({results[paths[0]]['threads']} threads)",
                   batch=args.batch, temporal_dim=args.temporal_dim, feat_dim=args.feat_dim,
                   postproc_fast_ms=post['fast_s'] * 1e3, postproc_loop_ms=post['loop_s'] * 1e3,
                   postproc_speedup=post['loop_s'] / post['fast_s'],
                   postproc_candidates=[post['candidates_min'], post['candidates_max']],
                   postproc_max_abs_diff=post['max_abs_diff_vs_loop'])
    for path, r in results.items():
        summary[f'{path}_train_step_s'] = r['train_step_s']
        summary[f'{path}_infer_ms'] = r['infer_per_video_s'] * 1e3
        summary[f'{path}_peak_mem_mb'] = r['peak_mem_mb']
    if 'fused' in results and 'dense' in results:
        f, d = results['fused'], results['dense']
        summary['train_step_speedup'] = d['train_step_s'] / f['train_step_s']
        summary['train_step_speedup_mean'] = d['train_step_mean_s'] / f['train_step_mean_s']
        summary['infer_speedup_mean'] = d['infer_per_video_mean_s'] / f['infer_per_video_mean_s']
        summary['train_peak_mem_ratio'] = f['train_peak_mem_mb'] / d['train_peak_mem_mb']
        summary['infer_speedup'] = d['infer_per_video_s'] / f['infer_per_video_s']
        summary['max_abs_diff'] = max(
            float(np.abs(f['arrays'][k] - d['arrays'][k]).max()) for k in ('bm', 'start', 'end'))
        print(f"fused vs dense: train step x{summary['train_step_speedup']:.2f}, peak memory "
              f"ratio {summary['train_peak_mem_ratio']:.3f}, inference "
              f"x{summary['infer_speedup']:.2f}, max |output diff| {summary['max_abs_diff']:.2e}")
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
