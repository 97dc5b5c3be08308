"""Per video: ground truth vs. top-k proposals on a timeline; for BMN also the BM map.

Examples:
    python tools/analysis/visualize_proposals.py work_dirs/demo/results.json \
        --gt data/synthetic_anet/anet_anno_val.json --out-dir work_dirs/demo/vis --num-videos 3
    python tools/analysis/visualize_proposals.py work_dirs/demo/results.json \
        --gt data/synthetic_anet/anet_anno_val.json --out-dir work_dirs/demo/vis \
        --config configs/localization/bmn/bmn_synthetic_demo.py \
        --checkpoint work_dirs/demo/epoch_9.pth --feature-dir data/synthetic_anet/features

Writes ``timeline_<video>.png`` (GT in red, the top ``--top-k`` proposals coloured by score)
and, with ``--config/--checkpoint/--feature-dir`` of a BMN model, ``bm_map_<video>.png``: the
regression and classification confidence maps (duration index down, start index across) with
each ground-truth segment circled at its BM cell. GT seconds are normalised with
``feature_frame / duration_frame * duration_second`` (spec §1.3) when the annotation has those
fields (MMAction2 layout), else with the duration.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', help='results JSON (tools/test.py --out or tools/infer.py)')
    parser.add_argument('--gt', required=True, help='annotation / ground-truth JSON')
    parser.add_argument('--out-dir', required=True, help='folder for the PNG files')
    parser.add_argument('--videos', nargs='+', help='video ids (with or without v_)')
    parser.add_argument('--num-videos', type=int, default=3,
                        help='without --videos: the first N GT videos with results (default 3)')
    parser.add_argument('--top-k', type=int, default=10, help='proposals drawn (default 10)')
    parser.add_argument('--subset', default='validation',
                        help='GT subset for files with a "subset" field (default: validation)')
    bm = parser.add_argument_group('BM confidence map (BMN)')
    bm.add_argument('--config', help='BMN config')
    bm.add_argument('--checkpoint', help='BMN checkpoint')
    bm.add_argument('--feature-dir', help='folder of <video_name>.csv|.npy feature files')
    bm.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def select_videos(gt, results, videos=None, num_videos=3):
    """GT ids to draw: ``videos`` (matched with or without ``v_``), else the first
    ``num_videos`` GT videos that have at least one instance and some results."""
    from mmloc.evaluation.formats import match_video_id
    if videos:
        chosen = [match_video_id(v, gt) for v in videos]
        unknown = [v for v, c in zip(videos, chosen) if c not in gt]
        if unknown:
            raise KeyError(f'videos not in the ground truth: {unknown}')
        return chosen
    return [vid for vid, rec in gt.items()
            if len(rec['segments']) and vid in results][:num_videos]


def normalised_gt(gt_segments_s, record):
    """(G, 2) GT in [0, 1] along the feature axis (spec §1.3 label rule, clipped)."""
    from mmloc.structures import Segments, TimeGrid
    if record and all(k in record for k in ('duration_second', 'duration_frame',
                                            'feature_frame')):
        grid = TimeGrid.from_activitynet(1, record['duration_second'], record['duration_frame'],
                                         record['feature_frame'])
    elif record and ('duration_second' in record or 'duration' in record):
        duration_s = float(record.get('duration_second', record.get('duration')))
        grid = TimeGrid(num_steps=1, fps=1.0, stride_frames=duration_s, span_s=duration_s)
    else:
        raise ValueError('ground truth record has no duration: cannot normalise segments')
    return Segments(gt_segments_s, 'second').to('normalised', grid).clip(0, 1).numpy()


def find_feature_file(feature_dir, video_id):
    for name in (f'v_{video_id}', video_id):
        for ext in ('.csv', '.npy'):
            path = osp.join(feature_dir, name + ext)
            if osp.isfile(path):
                return path
    raise FileNotFoundError(f'{feature_dir}: no feature file for video {video_id} '
                            '(looked for v_<id>.csv/.npy and <id>.csv/.npy)')


def bm_maps_of_video(model, feature_path):
    """BMN ``bm[0]`` (2, T, T) ``[reg, cls]`` of one feature file, resampled to T if needed."""
    import torch

    from mmloc.datasets.transforms.loading import read_feature_file
    from mmloc.datasets.transforms.resample import resample_feature
    from mmloc.models import BMN
    if not isinstance(model, BMN):
        raise TypeError(f'{type(model).__name__}: the BM map needs a BMN model')
    feat = read_feature_file(feature_path)
    if feat.shape[1] != model.feat_dim:
        raise ValueError(f'{feature_path}: expected {model.feat_dim} feature columns, '
                         f'got {feat.shape[1]}')
    if feat.shape[0] != model.temporal_dim:
        feat = resample_feature(feat, model.temporal_dim)
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(feat.T))[None].to(device)
    with torch.no_grad():
        bm, _, _ = model(x, mode='tensor')
    return bm[0].float().cpu().numpy()


def main(argv=None):
    args = parse_args(argv)
    from mmloc.evaluation.formats import (align_results_to_gt, load_json, read_ground_truth,
                                          read_results)
    from mmloc.visualization import plot_bm_map, plot_proposal_timeline

    bm_args = (args.config, args.checkpoint, args.feature_dir)
    if any(bm_args) and not all(bm_args):
        raise SystemExit('the BM map needs --config, --checkpoint and --feature-dir together')
    gt = read_ground_truth(args.gt, subset=args.subset)
    raw = load_json(args.gt)
    raw = raw.get('database', raw)
    records = {(k[2:] if k.startswith('v_') and k[2:] in gt else k): v for k, v in raw.items()}
    results = align_results_to_gt(read_results(args.results), gt)
    videos = select_videos(gt, results, args.videos, args.num_videos)
    if not videos:
        raise SystemExit(f'{args.results}: no video with both ground truth and results')
    model = None
    if all(bm_args):
        from mmloc.apis import init_localizer
        model = init_localizer(args.config, args.checkpoint, device=args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for vid in videos:
        rec = results.get(vid, dict(segments=np.zeros((0, 2)), scores=np.zeros(0)))
        record = records.get(vid, {})
        duration = gt[vid]['duration'] or float(np.max(rec['segments'], initial=1.0))
        name = vid if vid.startswith('v_') or 'v_' + vid not in raw else 'v_' + vid
        written.append(plot_proposal_timeline(
            gt[vid]['segments'], rec['segments'], rec['scores'], duration,
            osp.join(args.out_dir, f'timeline_{name}.png'),
            title=f'{name}: ground truth vs. top-{args.top_k} proposals', top_k=args.top_k,
            gt_labels=gt[vid]['labels']))
        if model is not None:
            maps = bm_maps_of_video(model, find_feature_file(args.feature_dir, vid))
            written.append(plot_bm_map(
                maps, osp.join(args.out_dir, f'bm_map_{name}.png'),
                gt_segments_norm=normalised_gt(gt[vid]['segments'], record),
                suptitle=f'{name}: BMN confidence maps, ground truth circled'))
    for path in written:
        print(path)
    return written


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
