"""Test a localizer checkpoint: evaluate and/or write results.

Example:
    python tools/test.py CONFIG work_dirs/.../epoch_9.pth --eval AR@AN --out results.json
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone too

from mmloc.utils.cli import add_runner_arguments, parse_runner_args  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a temporal localizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (mmloc or MMAction2 0.x/1.x)')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help='metrics to compute: AR@AN (proposals), mAP (detections)')
    parser.add_argument('--out', help='write results: a .json file for proposals/detections '
                        '(MMAction2 results format), a directory for per-video outputs (BSN TEM)')
    parser.add_argument('--dump', help='also pickle the raw per-video outputs to this .pkl file')
    add_runner_arguments(parser, 'test')
    return parse_runner_args(parser, argv)


def main():
    args = parse_args()
    from mmloc.apis.train_test import build_test_config, run_test
    cfg = build_test_config(args)
    run_test(cfg)


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
