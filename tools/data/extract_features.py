"""Snippet features for a folder or list of videos, one file per video, resumable.

Examples:
    python tools/data/extract_features.py configs/extractors/i3d_rgb.py --checkpoint i3d.pth \
        --videos data/my_videos/ --out data/my_features/ [--fps 30] [--stride 4] [--window 16]
    # the layout a localizer config reads (BMN: csv resampled to T=100, like csv_mean_100)
    python tools/data/extract_features.py configs/extractors/tsn_r50_rgb.py --checkpoint tsn.pth \
        --videos videos.txt --out data/feats --localizer-config configs/localization/bmn/...py
    # over 4 GPUs / processes: each takes every 4th video (RANK / WORLD_SIZE from torchrun)
    torchrun --nproc-per-node 4 tools/data/extract_features.py CONFIG --checkpoint W ...

Each video ``<name>.<ext>`` gives ``OUT/<name>.npy`` (T, C) float32 (or the localizer's
layout: ``.csv`` with a header line, optionally resampled to a fixed T) and
``OUT/<name>.sidecar.json`` (the snippet sampling, the time grid of the rows, the decoded
timestamps of each snippet's first frame). Both are written atomically, so a video whose two
files exist is finished and skipped when the run is started again (``--overwrite`` redoes it).
A video that fails (corrupt, truncated, no video stream, shorter than one snippet, unreadable)
is reported and the others go on; the summary at the end lists the failures and the exit
status is 2 when there were any.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='extractor config (configs/extractors/*.py)')
    parser.add_argument('--checkpoint', help='extractor weights (a local file)')
    parser.add_argument('--random-init', action='store_true',
                        help='random extractor weights (tests and benchmarks only)')
    parser.add_argument('--videos', required=True,
                        help='a video file, a folder of videos, or a text list (one a line)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--fps', type=float, help='resample the videos to this frame rate '
                        '(by timestamps); default: the config\'s, else each video\'s own')
    parser.add_argument('--window', type=int, help='frames per snippet window')
    parser.add_argument('--stride', type=int, help='frames between snippet starts')
    parser.add_argument('--frames-per-snippet', type=int,
                        help='frames the model sees per snippet (spread over the window)')
    parser.add_argument('--localizer-config',
                        help='write the format / T / file names this localizer config reads')
    parser.add_argument('--format', choices=['npy', 'csv'], help='feature file format '
                        '(default: npy, or the localizer config\'s)')
    parser.add_argument('--num-steps', type=int,
                        help='resample each video to T rows (default: the localizer config\'s '
                        'fixed T, e.g. 100 for BMN csv_mean_100; else as extracted)')
    parser.add_argument('--name-tmpl', help="output file name of a video id, e.g. 'v_{}.csv'")
    parser.add_argument('--workers', type=int, default=2, help='video-decoding workers')
    parser.add_argument('--batch-size', type=int, help='snippets per model call')
    parser.add_argument('--device', default='auto',
                        help="'cpu', 'cuda', 'cuda:1' or 'auto' (cuda:LOCAL_RANK when available)")
    parser.add_argument('--overwrite', action='store_true', help='redo finished videos')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override extractor config settings')
    args = parser.parse_args(argv)
    if args.checkpoint is None and not args.random_init:
        parser.error('give --checkpoint (the extractor weights) or --random-init')
    return args


def shard():
    """(rank, world_size) from torchrun's environment (0, 1 otherwise)."""
    return int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))


class Progress:
    """A one-line bar with the rate and the ETA on a terminal; a line per video otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()

    def update(self, video, error=None, snippets=None):
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        name = osp.basename(video)
        if error is not None:
            self.stream.write(('\n' if self.tty else '') + f'failed: {error}\n')
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f'\r[{"#" * filled}{"." * (width - filled)}] {self.done}/'
                              f'{self.total} elapsed {elapsed:.0f}s ETA {eta:.0f}s {name[:30]}')
            if self.done == self.total:
                self.stream.write('\n')
        elif error is None:
            self.stream.write(f'[{self.done}/{self.total}] {name}: {snippets} snippets '
                              f'(elapsed {elapsed:.0f}s, ETA {eta:.0f}s)\n')
        self.stream.flush()


def main(argv=None):
    args = parse_args(argv)
    import torch

    from mmloc.apis.extraction import (FeatureExtractor, extract_many, feature_layout,
                                       is_finished, list_videos)
    videos = list_videos(args.videos)
    layout = feature_layout(args.localizer_config) if args.localizer_config else {}
    fmt = args.format or layout.get('format') or 'npy'
    tmpl = args.name_tmpl or layout.get('name_tmpl') or '{}.' + fmt
    if not tmpl.endswith('.' + fmt):
        raise SystemExit(f'--name-tmpl {tmpl!r} does not end in .{fmt}')
    num_steps = args.num_steps or layout.get('num_steps')
    rank, world = shard()
    device = args.device
    if device == 'auto':
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}' if torch.cuda.is_available() \
            else 'cpu'
    cfg_options = dict(args.cfg_options or {})
    if args.batch_size:
        cfg_options['batch_size'] = args.batch_size
    extractor = FeatureExtractor(
        args.config, args.checkpoint, random_init=args.random_init, device=device,
        cfg_options=cfg_options, sampling=dict(fps=args.fps, window=args.window,
                                               stride=args.stride,
                                               frames_per_snippet=args.frames_per_snippet))
    if layout.get('feat_dim') and extractor.feat_dim and layout['feat_dim'] != extractor.feat_dim:
        raise SystemExit(f'{args.localizer_config}: the localizer reads {layout["feat_dim"]}-d '
                         f'features, the extractor {args.config} gives {extractor.feat_dim}')
    names = {}
    for video in videos:
        vid = osp.splitext(osp.basename(video))[0]
        if vid in names:
            raise SystemExit(f'{video}: video id {vid} also names {names[vid]}')
        names[vid] = video
    jobs = [(v, osp.join(args.out, tmpl.format(osp.splitext(osp.basename(v))[0])))
            for v in videos[rank::world]]
    todo = [(v, p) for v, p in jobs if args.overwrite or not is_finished(p)]
    skipped = len(jobs) - len(todo)
    os.makedirs(args.out, exist_ok=True)
    where = f' (rank {rank} of {world})' if world > 1 else ''
    print(f'{len(jobs)} video(s){where}: {skipped} already done, {len(todo)} to extract with '
          f'{args.config} ({extractor.sampling}) on {device}', flush=True)
    progress = Progress(len(todo))
    tic = time.perf_counter()
    summary = extract_many(extractor, todo, num_workers=args.workers, num_steps=num_steps,
                           on_done=progress.update)
    wall = time.perf_counter() - tic
    print(f'done: {len(summary["done"])} extracted, {skipped} skipped, '
          f'{len(summary["failed"])} failed; {summary["snippets"]} snippets in {wall:.1f}s '
          f'(model {summary["model_s"]:.1f}s)', flush=True)
    if summary['failed']:
        for video, error in summary['failed'].items():
            print(f'  failed {video}: {error}', file=sys.stderr)
        raise SystemExit(f'{len(summary["failed"])} of {len(todo)} video(s) failed (listed '
                         'above); the others were written')
    return summary


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
