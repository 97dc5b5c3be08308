"""Your annotations (plain CSV, ActivityNet / MMAction2 JSON, THUMOS14 per-class txt,
ActionFormer / OpenTAD JSON) -> mmloc's annotation JSON, with durations from the features.

Examples:
    # video,start_s,end_s,label (or start_frame,end_frame with --fps); durations from the
    # feature sidecars written by tools/data/extract_features.py
    python tools/data/convert_annotations.py my_labels.csv --features data/my_features/ \
        --out data/my_set/ [--splits split.csv]
    python tools/data/convert_annotations.py thumos14/annotation_val/ --format thumos \
        --videos thumos14/videos/ --out data/thumos_own/ --subset validation
    # MMAction2's ActivityNet layout (BMN / BSN configs): OUT/anno_<subset>.json
    python tools/data/convert_annotations.py my_labels.csv --features F --out O --layout mmaction2

Writes ``OUT/annotations.json`` (``{"classes": [...], "database": {video: {"subset",
"duration", "fps", "annotations": [{"segment": [start_s, end_s], "label", "label_id"}]}}}``,
what ``FeatureDataset`` reads) or, with ``--layout mmaction2``, ``OUT/anno_<subset>.json`` per
subset; and ``OUT/classes.txt``. A video without a duration (no sidecar / video found and none
in the annotations) is an error listing the ids.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('annotations', help='CSV / JSON file, or a folder of THUMOS14 txt files')
    parser.add_argument('--format', default='auto', choices=['auto', 'csv', 'activitynet',
                                                             'thumos'])
    parser.add_argument('--fps', type=float, help='frame rate of frame-numbered CSV times')
    parser.add_argument('--features', help='feature folder (durations from the sidecars)')
    parser.add_argument('--name-tmpl', default='{}.npy',
                        help="feature file name of a video id (default '{}.npy')")
    parser.add_argument('--videos', help='video folder (durations read from the videos)')
    parser.add_argument('--splits', help='CSV "video,subset" (default: every video training)')
    parser.add_argument('--subset', help='subset of every video (THUMOS files: one split)')
    parser.add_argument('--layout', default='database', choices=['database', 'mmaction2'])
    parser.add_argument('--out', required=True, help='output folder')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmloc.datasets import convert
    from mmloc.utils.io import atomic_open, atomic_write_json
    videos = convert.read_annotations(args.annotations, args.format, args.fps)
    if args.subset:
        for rec in videos.values():
            rec['subset'] = args.subset
    if args.splits:
        split = convert.read_split_csv(args.splits)
        for vid in split:
            if vid not in videos:      # a video without actions is a valid background video
                videos[vid] = dict(subset=None, duration_s=None, fps=None, actions=[])
        for vid, rec in videos.items():
            if vid not in split:
                raise SystemExit(f'{args.splits}: video {vid} has no subset')
            rec['subset'] = split[vid]
    missing = []
    if args.features:
        missing = convert.fill_from_sidecars(videos, args.features, args.name_tmpl)
    elif args.videos:
        missing = convert.fill_from_videos(videos, args.videos)
    lacking = sorted(v for v, r in videos.items() if not r.get('duration_s'))
    if lacking:
        where = f' (no sidecar in {args.features})' if args.features else \
            f' (no video in {args.videos})' if args.videos else ''
        raise SystemExit(f'{args.annotations}: {len(lacking)} video(s) have no duration{where}: '
                         f'{lacking[:5]}; give --features or --videos')
    classes = convert.class_list(videos)
    os.makedirs(args.out, exist_ok=True)
    written = []
    if args.layout == 'database':
        path = osp.join(args.out, 'annotations.json')
        atomic_write_json(path, convert.to_database(videos, classes), indent=1)
        written.append(path)
    else:
        for subset in sorted({r.get('subset') or 'training' for r in videos.values()}):
            path = osp.join(args.out, f'anno_{subset}.json')
            atomic_write_json(path, convert.to_mmaction2(videos, subset), indent=1)
            written.append(path)
    with atomic_open(osp.join(args.out, 'classes.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    n_act = sum(len(r['actions']) for r in videos.values())
    print(f'{len(videos)} videos, {n_act} actions, {len(classes)} classes -> '
          f'{", ".join(written)}' + (f' ({len(missing)} without features: {missing[:5]})'
                                     if missing else ''))
    return written


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
