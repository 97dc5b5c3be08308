"""One BMN training epoch with MMAction2 1.2.0's own code (run in the peer venv).

The counterpart of ``benchmarks/epoch_time.py`` on the same files: MMAction2's
``ActivityNetDataset`` and the train pipeline and dataloader of its
``bmn_400x100_2x8_9e_activitynet_feature.py`` (``LoadLocalizationFeature`` -> np.loadtxt,
``GenerateLocalizationLabels``, ``PackLocalizationInputs``; batch 8, ``drop_last``,
default collate), its BMN and ``model.train_step`` with Adam + clip 40. Prints one JSON
line ``{"workers0": {...}, "workers2": {...}}`` with the fields of epoch_time.py.

    PEER_VENV/bin/python benchmarks/peer/epoch_mmaction2.py --ann-file A --feature-dir D
        [--workers 0,2] [--threads 2] [--peer-dir ../shared/peer-bench]
"""
import argparse
import json
import os
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
DEFAULT_PEER_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(HERE))), 'shared', 'peer-bench')

PIPELINE = [dict(type='LoadLocalizationFeature'), dict(type='GenerateLocalizationLabels'),
            dict(type='PackLocalizationInputs', keys=('gt_bbox', ), meta_keys=('video_name', ))]
BMN_CFG = dict(type='BMN', temporal_dim=100, boundary_ratio=0.5, num_samples=32,
               num_samples_per_bin=3, feat_dim=400, soft_nms_alpha=0.4,
               soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9,
               post_process_top_k=100)
OPTIM = dict(optimizer=dict(type='Adam', lr=0.001, weight_decay=0.0001),
             clip_grad=dict(max_norm=40, norm_type=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ann-file', required=True)
    ap.add_argument('--feature-dir', required=True)
    ap.add_argument('--workers', default='0,2')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--peer-dir', default=os.environ.get('MMLOC_PEER_BENCH', DEFAULT_PEER_DIR))
    args = ap.parse_args()
    sys.path.insert(0, args.peer_dir)
    sys.path.insert(0, osp.dirname(HERE))
    from common import import_mmaction, setup_torch
    from epoch_time import timed_epoch   # the same timing loop as the mmloc side
    setup_torch(args.threads)
    import_mmaction()
    import torch
    from mmaction.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    out = {}
    for workers in (int(w) for w in args.workers.split(',')):
        loader = Runner.build_dataloader(dict(
            batch_size=8, num_workers=workers, persistent_workers=workers > 0,
            sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
            dataset=dict(type='ActivityNetDataset', ann_file=args.ann_file,
                         data_prefix=dict(video=args.feature_dir.rstrip('/')),
                         pipeline=PIPELINE)), seed=0)
        torch.manual_seed(0)
        model = MODELS.build(BMN_CFG)
        model.train()
        optim = build_optim_wrapper(model, OPTIM)
        out[f'workers{workers}'] = timed_epoch(loader, lambda data: model.train_step(data, optim))
    import mmaction
    out['mmaction2'] = mmaction.__version__
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
