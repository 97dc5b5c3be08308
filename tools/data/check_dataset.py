"""Check a data set against a config before training: features, widths, lengths, segments,
labels, ids.

    python tools/data/check_dataset.py configs/localization/<model>/<my_config>.py

Prints one block per problem (the count and the first offending videos) for the train, val and
test datasets of the config, and exits with status 2 when there is any error (see
``mmloc/datasets/check.py`` for the checks).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--first', type=int, default=5, help='videos shown per problem')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmloc.datasets.check import check_config, format_report
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'{args.config}: config not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    report = check_config(cfg)
    print(format_report(report, args.first))
    errors = sum(p.error for problems in report.values() for p in problems)
    if errors:
        raise SystemExit(f'{args.config}: {errors} problem(s) in the data set (listed above)')
    print('the data set matches the config')
    return report


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
