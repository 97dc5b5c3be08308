"""AFSD speed and memory at the paper's clip size (256 frames, 96x96 crop, I3D, 21 classes).

Measures one training step (forward + backward + Adam, with the contrastive clip pass) and
the per-window inference time (batch 1, no grad), on CUDA when available, else CPU. Prints
the figures, then one JSON line.

Example:
    OMP_NUM_THREADS=2 python benchmarks/afsd.py --train-steps 1 --infer-windows 2
"""
import argparse
import json
import os.path as osp
import platform
import resource
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clip-length', type=int, default=256)
    parser.add_argument('--crop', type=int, default=96)
    parser.add_argument('--train-steps', type=int, default=1, help='timed steps (after 0 warm-up)')
    parser.add_argument('--infer-windows', type=int, default=2, help='timed windows (after 1 warm-up)')
    parser.add_argument('--no-contrastive', action='store_true')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args()


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.structures import InstanceData

    from mmloc.registry import MODELS
    from mmloc.structures import LocalizationDataSample
    from mmloc.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    L = args.clip_length
    model = MODELS.build(dict(
        type='AFSD', net=dict(type='AFSDNet', num_classes=21, clip_length=L,
                              crop_size=args.crop, backbone=dict(type='InceptionI3d')),
        lw=10.0, cw=1.0, piou=0.5, ssl=0.0 if args.no_contrastive else 0.1)).to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    clip = torch.randint(0, 256, (3, L, args.crop, args.crop), dtype=torch.uint8)
    sample = LocalizationDataSample()
    gts = torch.tensor([[20., 80., 3], [120., 130., 7], [150., 240., 3]])
    sample.gt_instances = InstanceData(segments=gts[:, :2] / L, labels=gts[:, 2].long())
    sample.start_labels = torch.zeros(L)
    sample.end_labels = torch.zeros(L)
    if not args.no_contrastive:
        sample.ssl_inputs = clip.clone()
        sample.ssl_segments = torch.tensor([[20., 50.], [58., 88.], [51., 57.]])
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-5,
                             weight_decay=1e-3)
    model.train()
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    train_times = []
    for _ in range(args.train_steps):
        sync(args.device)
        t0 = time.perf_counter()
        losses = model([clip.to(args.device)], [sample], mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
        sync(args.device)
        train_times.append(time.perf_counter() - t0)
    train_peak = (torch.cuda.max_memory_allocated() / 2 ** 20 if args.device.startswith('cuda')
                  else None)
    model.eval()
    x = clip[None].to(args.device)
    infer_times = []
    with torch.no_grad():
        for i in range(args.infer_windows + 1):
            sync(args.device)
            t0 = time.perf_counter()
            model(x, mode='tensor')
            sync(args.device)
            if i:  # first window is warm-up
                infer_times.append(time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = dict(
        benchmark='afsd', device=args.device,
        device_name=(torch.cuda.get_device_name() if args.device.startswith('cuda')
                     else platform.processor() or platform.machine()),
        threads=torch.get_num_threads(), clip=[3, L, args.crop, args.crop], params=n_params,
        contrastive=not args.no_contrastive,
        train_step_s=min(train_times), train_steps=len(train_times),
        infer_window_s=min(infer_times) if infer_times else None,
        infer_windows=len(infer_times),
        peak_rss_mb=round(rss_mb, 1),
        cuda_train_peak_mb=None if train_peak is None else round(train_peak, 1))
    print(f'AFSD {result["params"]:,} parameters, clip {result["clip"]}, device '
          f'{result["device"]} ({result["device_name"]}, {result["threads"]} threads)')
    print(f'training step (fwd+bwd+Adam{", +contrastive pass" if result["contrastive"] else ""}): '
          f'{result["train_step_s"]:.2f} s')
    if result['infer_window_s'] is not None:
        print(f'inference per window (batch 1): {result["infer_window_s"]:.3f} s')
    print(f'peak host RSS {result["peak_rss_mb"]:.0f} MiB'
          + (f', CUDA training peak {train_peak:.0f} MiB' if train_peak is not None else ''))
    print(json.dumps(result))


if __name__ == '__main__':
    main()
