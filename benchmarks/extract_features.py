"""Benchmark feature extraction on CPU: decoding and model time separated, memory bounded.

Writes a synthetic video (``--minutes`` long, default 10, moving shapes at ``--size``), then

* decodes it alone (frames/s of ``mmloc.video.iter_frames`` at the extractor's fps and size);
* extracts it with the extractor (``--config``, random weights): snippets/s of the model
  alone (time inside the forward passes) and the decode share of the same run;
* peak memory: the growth of the process's peak RSS during extraction (the video is never
  held: one window of frames and one batch of snippets are).

``--threads`` torch threads (default 2). The last line printed is one JSON object.

    python benchmarks/extract_features.py --threads 2 --minutes 10
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import resource
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/extractors/tiny3d_rgb_demo.py')
    parser.add_argument('--minutes', type=float, default=10.0)
    parser.add_argument('--fps', type=float, default=10.0, help='frame rate of the video')
    parser.add_argument('--size', type=int, nargs=2, default=(160, 120))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--video', help='an existing video instead of the synthetic one')
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    from mmloc.apis.extraction import FeatureExtractor
    from mmloc.testing.synthetic_video import write_video
    from mmloc.video import iter_frames
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video
        if video is None:
            video = osp.join(tmp, 'long.mp4')
            duration = args.minutes * 60
            rng = np.random.default_rng(0)
            acts, t = [], 2.0
            while t + 10 < duration:
                acts.append((t, t + float(rng.uniform(3, 10)), int(rng.integers(3))))
                t = acts[-1][1] + float(rng.uniform(2, 10))
            tic = time.perf_counter()
            write_video(video, duration, args.fps, acts, tuple(args.size), seed=None)
            print(f'wrote {duration:.0f} s synthetic video in {time.perf_counter() - tic:.1f} s',
                  flush=True)
        ext = FeatureExtractor(args.config, random_init=True)
        sampling = ext.sampling_for(video)
        rss0 = peak_rss_mb()
        tic = time.perf_counter()
        frames = sum(1 for _ in iter_frames(video, fps=sampling.fps, short_side=ext.short_side))
        decode_s = time.perf_counter() - tic
        rss_decode = peak_rss_mb()
        tic = time.perf_counter()
        features, sidecar, stats = ext.assemble(video, ext.iter_chunks(video))
        wall = time.perf_counter() - tic
        rss_extract = peak_rss_mb()
    frame_bytes = args.size[0] * args.size[1] * 3
    out = dict(config=args.config, threads=args.threads, video_s=frames / sampling.fps,
               frames=frames, snippets=int(features.shape[0]), feat_dim=int(features.shape[1]),
               decode_fps=frames / decode_s, snippets_per_s_model=stats['snippets'] /
               max(stats['model_s'], 1e-9), extract_wall_s=wall,
               extract_decode_s=stats['decode_s'], extract_model_s=stats['model_s'],
               peak_rss_growth_mb_decode=rss_decode - rss0,
               peak_rss_growth_mb_extract=rss_extract - rss0,
               whole_video_rgb_mb=frames * frame_bytes / 2 ** 20)
    print(f"decode: {out['decode_fps']:.0f} frames/s; model: "
          f"{out['snippets_per_s_model']:.1f} snippets/s; extraction {wall:.1f} s "
          f"(decode {stats['decode_s']:.1f} s, model {stats['model_s']:.1f} s); peak RSS grew "
          f"{out['peak_rss_growth_mb_extract']:.1f} MB (the video as RGB: "
          f"{out['whole_video_rgb_mb']:.0f} MB)")
    print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
