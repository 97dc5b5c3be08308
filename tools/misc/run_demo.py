"""`make demo`: synthetic data -> train -> test --eval AR@AN --out -> table + plots.

Runs the same commands a user types (tools/train.py, tools/test.py,
tools/analysis/eval_metric.py), then prints the AR@AN table and writes the AR-AN curve and
one proposal timeline as PNG files in the work dir.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/localization/bmn/bmn_synthetic_demo.py')
    parser.add_argument('--data-dir', default=None, help='synthetic data folder '
                        '(default: synthetic_data.out_dir of the config)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--regenerate', action='store_true', help='rewrite the data set')
    return parser.parse_args()


def run(cmd):
    print('+ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def main():
    args = parse_args()
    from mmengine.config import Config

    from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
    from mmloc.evaluation.formats import read_ground_truth, read_results
    from mmloc.evaluation.functional import average_recall_at_avg_proposals
    from mmloc.evaluation.functional.ar_an import ANET_PROPOSAL_TIOU_THRESHOLDS
    from mmloc.visualization import plot_ar_an, plot_proposal_timeline

    t0 = time.time()
    cfg = Config.fromfile(args.config)
    syn = dict(cfg.synthetic_data)
    data_dir = args.data_dir or syn.pop('out_dir')
    syn.pop('out_dir', None)
    ann_val = osp.join(data_dir, 'anet_anno_val.json')
    if args.regenerate or not osp.isfile(ann_val):
        print(f'generating the synthetic data set in {data_dir} ...', flush=True)
        gen_cfg = SyntheticConfig(temporal_dim=syn['temporal_dim'], feat_dim=syn['feat_dim'],
                                  num_classes=syn['num_classes'])
        generate_synthetic_activitynet(data_dir, syn['num_train'], syn['num_val'],
                                       seed=syn['seed'], cfg=gen_cfg)
    py = sys.executable
    opts = [f'train_dataloader.dataset.ann_file={data_dir}/anet_anno_train.json',
            f'train_dataloader.dataset.data_prefix.video={data_dir}/features',
            f'val_dataloader.dataset.ann_file={ann_val}',
            f'val_dataloader.dataset.data_prefix.video={data_dir}/features',
            f'test_dataloader.dataset.ann_file={ann_val}',
            f'test_dataloader.dataset.data_prefix.video={data_dir}/features']
    run([py, 'tools/train.py', args.config, '--work-dir', args.work_dir, '--cfg-options', *opts])
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    results = osp.join(args.work_dir, 'results.json')
    run([py, 'tools/test.py', args.config, ckpt, '--work-dir', args.work_dir, '--eval', 'AR@AN',
         '--out', results, '--cfg-options', *opts])
    run([py, 'tools/analysis/eval_metric.py', results, '--ann', ann_val, '--eval', 'AR@AN'])

    gt = read_ground_truth(ann_val)
    res = read_results(results)
    metrics = average_recall_at_avg_proposals(
        {vid: g['segments'] for vid, g in gt.items()},
        {vid: (r['segments'], r['scores']) for vid, r in res.items()})
    print('\nAR@AN on the synthetic validation split '
          f'({metrics["num_videos"]} videos with ground truth):')
    print('| AR@1   | AR@5   | AR@10  | AR@100 | AUC    |')
    print('|--------|--------|--------|--------|--------|')
    print('| ' + ' | '.join(f'{metrics[k]:.4f}' for k in ('AR@1', 'AR@5', 'AR@10', 'AR@100'))
          + f' | {metrics["auc"]:.2f}  |')
    curve = plot_ar_an({'BMN (synthetic demo)': metrics}, osp.join(args.work_dir, 'ar_an_curve.png'),
                       tiou_thresholds=ANET_PROPOSAL_TIOU_THRESHOLDS)
    with open(ann_val) as f:
        anno = json.load(f)
    name = next(n for n, rec in anno.items() if len(rec['annotations']) >= 2)
    vid = name[2:]
    timeline = plot_proposal_timeline(
        gt[vid]['segments'], res[vid]['segments'], res[vid]['scores'],
        anno[name]['duration_second'], osp.join(args.work_dir, f'timeline_{name}.png'),
        title=f'{name}: ground truth vs. top-10 BMN proposals', gt_labels=gt[vid]['labels'])
    print(f'\nAR-AN curve: {curve}\ntimeline:    {timeline}')
    print(f'demo finished in {time.time() - t0:.0f} s')
    print(json.dumps({k: float(metrics[k]) for k in ('AR@1', 'AR@5', 'AR@10', 'AR@100', 'auc')}))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
