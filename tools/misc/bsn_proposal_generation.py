"""BSN PGM: proposals (CSV) and BSP features (.npy) from TEM results, for every video of a split.

Example:
    python tools/misc/bsn_proposal_generation.py \
        configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py --mode train
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='BSN PGM config (tem_results_dir, pgm_* keys)')
    parser.add_argument('--mode', choices=['train', 'test'], default='test',
                        help='train: ann_file_train; test: ann_file_val (as MMAction2)')
    parser.add_argument('--workers', type=int, default=None,
                        help='worker processes (default: pgm_proposals_thread, capped at the '
                        'CPU count)')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute videos whose output files already exist')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. tem_results_dir=DIR')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmloc.apis.bsn_pgm_runner import run_pgm_from_config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(f'BSN PGM ({args.mode}): begin')
    summary = run_pgm_from_config(cfg, args.mode, workers=args.workers,
                                  overwrite=args.overwrite)
    print(f'\nBSN PGM ({args.mode}): finished; proposals in {cfg.pgm_proposals_dir}, '
          f'BSP features in {cfg.pgm_features_dir}')
    print(json.dumps(summary))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
