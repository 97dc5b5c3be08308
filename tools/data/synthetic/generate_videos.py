"""Write a synthetic "own data set": small mp4 videos (coloured shapes that appear and move at
known times) with ``labels.csv`` (``video,start_s,end_s,label``) and ``split.csv``
(``video,subset``), the inputs docs/custom_dataset.md starts from. Needs PyAV.

Example:
    python tools/data/synthetic/generate_videos.py data/own_demo --num-videos 32
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder (videos/, labels.csv, split.csv)')
    parser.add_argument('--num-videos', type=int, default=32)
    parser.add_argument('--duration', type=float, default=12.0, help='seconds per video')
    parser.add_argument('--fps', type=float, default=10.0)
    parser.add_argument('--num-classes', type=int, default=3)
    parser.add_argument('--val-fraction', type=float, default=0.25,
                        help='share of the videos in the validation subset (the last ones)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.num_videos < 2 or not 0 < args.val_fraction < 1:
        parser.error('give --num-videos >= 2 and 0 < --val-fraction < 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmloc.testing.synthetic_video import write_video_dataset
    out = write_video_dataset(args.out_dir, args.num_videos, args.duration, args.fps,
                              args.num_classes, args.seed, args.val_fraction)
    n_act = sum(len(a) for a in out['actions'].values())
    print(f'{args.num_videos} videos, {n_act} actions of {args.num_classes} classes -> '
          f'{out["videos"]}, {out["labels"]}, {out["splits"]}')
    return out


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
