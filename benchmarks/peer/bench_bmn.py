"""mmloc twin of the peer's bench_bmn.py: BMN (default 400x100 config) on CPU.

Same stages, inputs (the peer's ``synth``) and repeats as the peer script: model build
(constant sampling index), forward per video, ``predict`` on the random-init model,
``predict`` with the forward replaced by ``synth.bmn_output`` maps (candidates +
post-processing per video), label generation and one training step of batch 8
(``model.train_step`` with the config's Adam + clip 40), peak RSS after each stage. The
model, pipelines, collate and optimiser come from mmloc's default BMN config. Prints one
JSON line with the peer's keys.

    python benchmarks/peer/bench_bmn.py [--repeat 3] [--videos 20] [--peer-dir DIR]
"""
import statistics

import numpy as np
import torch

import twin


def main(argv=None):
    ap = twin.parser(__doc__)
    ap.add_argument('--videos', type=int, default=20,
                    help='videos for the post-processing measurement')
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.videos = 1, 2
    t = twin.Twin(args.peer_dir)
    synth = t.synth
    import mmloc.models.localizers.bmn as bmn_module
    from mmloc.models.layers import bm_bag_index, bm_bag_tensors, bm_sparse_mask
    cfg = twin.load_config(twin.BMN_CONFIG)
    m = cfg.model
    r = {}

    r['build_s'] = t.median_time(lambda: twin.build(cfg.model), args.repeat, 0)
    model = twin.build(cfg.model)
    r['sample_mask_s'] = t.median_time(lambda: bm_bag_tensors(bm_bag_index(bm_sparse_mask(
        m.temporal_dim, m.num_samples, m.num_samples_per_bin, m.boundary_ratio))),
        args.repeat, 0)
    r['params'] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    r['rss_after_build_mib'] = t.peak_rss_mib()

    pp_calls = []
    restore = twin.timed_calls(bmn_module, 'post_processing', pp_calls)

    model.eval()
    one = twin.feature_batch(cfg, 'test_pipeline', synth.video_infos(1, seed=2),
                             synth.features(1, seed=2))
    with torch.no_grad():
        r['infer_forward_s_per_video'] = t.median_time(
            lambda: model(one['inputs'], one['data_samples'], mode='tensor'), args.repeat)
        pp_calls.clear()
        r['predict_random_model_s_per_video'] = t.median_time(
            lambda: model(one['inputs'], one['data_samples'], mode='predict'), args.repeat)
        r['random_model_candidates'] = pp_calls[-1][0]
        r['random_model_post_processing_s'] = statistics.median(tt for _, tt in pp_calls)
    r['rss_after_inference_mib'] = t.peak_rss_mib()

    # predict() on plausible trained outputs (forward replaced by a constant).
    infos = synth.video_infos(args.videos, seed=3)
    batch = twin.feature_batch(cfg, 'test_pipeline', infos,
                               np.zeros((args.videos, m.feat_dim, m.temporal_dim), np.float32))
    outs = [tuple(torch.from_numpy(a)[None] for a in synth.bmn_output(info, seed=i))
            for i, info in enumerate(infos)]
    dummy = torch.zeros(1, 1, 1)

    def predict_all():
        for (start, end, conf), ds in zip(outs, batch['data_samples']):
            model._forward = lambda x, o=(conf, start, end): o
            model.predict(dummy, [ds])
    pp_calls.clear()
    with torch.no_grad():
        r['predict_postproc_s_per_video'] = t.median_time(
            predict_all, args.repeat) / args.videos
    del model._forward
    per_run = np.array([tt for _, tt in pp_calls]).reshape(-1, args.videos)
    r['post_processing_s_per_video'] = float(np.median(per_run.mean(1)))
    r['candidates_per_video_mean'] = float(np.mean([n for n, _ in pp_calls[:args.videos]]))
    restore()

    # One training iteration, batch 8, as mmengine's runner does it.
    batch = twin.feature_batch(cfg, 'train_pipeline', synth.video_infos(8, seed=1),
                               synth.features(8, seed=1))
    model.train()
    optim = twin.optim_wrapper(model, cfg)
    gt = [ds.gt_instances.segments for ds in batch['data_samples']]
    r['label_gen_s_per_batch8'] = t.median_time(
        lambda: model.generate_labels(gt, 'cpu'), args.repeat)
    r['train_step_s_per_batch8'] = t.median_time(
        lambda: model.train_step(batch, optim), args.repeat)
    r['rss_after_train_mib'] = t.peak_rss_mib()
    return t.emit('bmn', repeat=args.repeat, **r)


if __name__ == '__main__':
    main()
