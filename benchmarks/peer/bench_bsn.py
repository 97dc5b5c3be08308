"""mmloc twin of the peer's bench_bsn.py: BSN (TEM -> PGM -> PEM, default 400x100 configs).

TEM: one training step on a batch of 16 (``model.train_step``, the config's pipeline,
collate and optimiser) and ``predict`` per video (batch 1). PGM: per video, candidate
proposals with GT matching from the TEM CSV on disk, then BSP features from the TEM CSV
and the proposal CSV on disk (the code of ``tools/misc/bsn_proposal_generation.py``,
test settings: peak_threshold 0.5, top_k 1000; single process). PEM: one training step on
16 videos (``LoadProposals`` top_k 500) and ``predict`` per video (top_k 1000, incl.
Soft-NMS). Same inputs (the peer's ``synth``) and repeats as the peer. One JSON line.

    python benchmarks/peer/bench_bsn.py [--repeat 3] [--videos 20] [--peer-dir DIR]
"""
import os
import os.path as osp
import shutil
import tempfile

import numpy as np
import torch

import twin


def _with_dirs(pipeline, proposals_dir, features_dir):
    """The config's PEM pipeline reading PGM outputs from the given directories."""
    return [dict(t, pgm_proposals_dir=proposals_dir, pgm_features_dir=features_dir)
            if t['type'] == 'LoadProposals' else dict(t) for t in pipeline]


def pem_batch(pipeline, infos) -> dict:
    from mmengine.dataset import Compose

    from mmloc.datasets.collate import localization_collate
    compose = Compose(pipeline)
    return localization_collate([compose(dict(info)) for info in infos])


def main(argv=None):
    ap = twin.parser(__doc__)
    ap.add_argument('--videos', type=int, default=20)
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat = 1
    assert args.videos >= 16
    t = twin.Twin(args.peer_dir)
    synth = t.synth
    import mmloc.models.localizers.bsn as bsn_module
    from mmloc.apis.bsn_pgm_runner import pgm_gt_segments, pgm_kwargs
    from mmloc.datasets.transforms.proposal_loading import (read_proposals, read_tem_results,
                                                            write_bsp_feature, write_proposals,
                                                            write_tem_results)
    from mmloc.models.utils.bsn_pgm import generate_bsp_feature, generate_candidate_proposals
    from mmloc.models.utils.boundary_targets import stack_tem_targets
    r = {}

    # TEM
    tem_cfg = twin.load_config(twin.TEM_CONFIG)
    tem = twin.build(tem_cfg.model)
    tem.eval()
    one = twin.feature_batch(tem_cfg, 'test_pipeline', synth.video_infos(1, seed=2),
                             synth.features(1, seed=2))
    with torch.no_grad():
        r['tem_predict_s_per_video'] = t.median_time(
            lambda: tem(one['inputs'], one['data_samples'], mode='predict'), args.repeat)
    tem.train()
    batch = twin.feature_batch(tem_cfg, 'train_pipeline', synth.video_infos(16, seed=1),
                               synth.features(16, seed=1))
    optim = twin.optim_wrapper(tem, tem_cfg)
    gt = [ds.gt_instances.segments for ds in batch['data_samples']]
    r['tem_label_gen_s_per_batch16'] = t.median_time(
        lambda: stack_tem_targets(gt, tem.temporal_dim, tem.boundary_ratio), args.repeat)
    r['tem_train_step_s_per_batch16'] = t.median_time(
        lambda: tem.train_step(batch, optim), args.repeat)

    # PGM on synthetic TEM results, written as the TEM test writes them.
    pgm_cfg = twin.load_config(twin.PGM_CONFIG)
    kwargs = pgm_kwargs(pgm_cfg.pgm_proposals_cfg, pgm_cfg.pgm_features_test_cfg)
    top_k = kwargs.pop('top_k')
    scale, peak = kwargs.pop('temporal_scale'), kwargs.pop('peak_threshold')
    infos = synth.video_infos(args.videos, seed=4)
    work = tempfile.mkdtemp(prefix='mmloc_bsn_')
    tem_dir, prop_dir, feat_dir = (osp.join(work, d) for d in
                                   ('tem_results', 'pgm_proposals', 'pgm_features'))
    for d in (tem_dir, prop_dir, feat_dir):
        os.makedirs(d)
    for i, info in enumerate(infos):
        write_tem_results(osp.join(tem_dir, info['video_name'] + '.csv'),
                          synth.tem_output(info, seed=i))
    proposals, features = {}, {}

    def candidates():
        for info in infos:
            name = info['video_name']
            proposals[name] = generate_candidate_proposals(
                read_tem_results(osp.join(tem_dir, name + '.csv')), scale, peak,
                pgm_gt_segments(info))
    r['pgm_proposals_s_per_video'] = t.median_time(candidates, args.repeat) / len(infos)
    r['pgm_candidates_per_video_mean'] = float(np.mean([len(p) for p in proposals.values()]))
    for name, props in proposals.items():
        write_proposals(osp.join(prop_dir, name + '.csv'), props)

    def bsp():
        for info in infos:
            name = info['video_name']
            tops = read_proposals(osp.join(prop_dir, name + '.csv'), max_rows=top_k)[:, :2]
            features[name] = generate_bsp_feature(
                read_tem_results(osp.join(tem_dir, name + '.csv')), tops, **kwargs)
    r['pgm_bsp_feature_s_per_video'] = t.median_time(bsp, args.repeat) / len(infos)
    for name, feat in features.items():
        write_bsp_feature(osp.join(feat_dir, name + '.npy'), feat)

    # PEM
    pem_cfg = twin.load_config(twin.PEM_CONFIG)
    pem = twin.build(pem_cfg.model)
    pem.train()
    batch = pem_batch(_with_dirs(pem_cfg.train_pipeline, prop_dir, feat_dir), infos[:16])
    optim = twin.optim_wrapper(pem, pem_cfg)
    r['pem_train_step_s_per_batch16'] = t.median_time(
        lambda: pem.train_step(batch, optim), args.repeat)

    pp_calls = []
    restore = twin.timed_calls(bsn_module, 'post_processing', pp_calls)
    pem.eval()
    test = pem_batch(_with_dirs(pem_cfg.test_pipeline, prop_dir, feat_dir), infos)
    dsamples = test['data_samples']

    def predict_all():
        for ds in dsamples:
            pem(None, [ds], mode='predict')
    with torch.no_grad():
        r['pem_predict_s_per_video'] = t.median_time(predict_all, args.repeat) / len(infos)
    per_run = np.array([tt for _, tt in pp_calls]).reshape(-1, len(infos))
    r['pem_post_processing_s_per_video'] = float(np.median(per_run.mean(1)))
    restore()
    r['peak_rss_mib'] = t.peak_rss_mib()
    shutil.rmtree(work)
    return t.emit('bsn', repeat=args.repeat, videos=len(infos), **r)


if __name__ == '__main__':
    main()
