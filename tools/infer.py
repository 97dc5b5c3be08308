"""Proposals / detections for one video or a list of them, in seconds, with any mmloc model.

Examples:
    # BMN on a feature file
    python tools/infer.py configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py \
        bmn.pth --input v_abc.csv --duration 122.99 --out work_dirs/infer
    python tools/infer.py CONFIG CKPT --input videos.txt --fps 30 --out work_dirs/infer
    # BSN, the three stages in one call: TEM, then PGM (settings of the PGM config), then PEM
    python tools/infer.py configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py \
        tem.pth \
        --pem-config configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py \
        --pem-checkpoint pem.pth \
        --pgm-config configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py \
        --input v_abc.csv --duration 122.99 --out work_dirs/infer
    # SSN on snippet features ((C, T) .npy, as SSNFeatureDataset reads them); fps is needed
    python tools/infer.py configs/localization/ssn/ssn_feature_thumos14_test.py ssn.pth \
        --input video_test_0000004.npy --fps 30 --duration 33.5 --out work_dirs/infer
    # AFSD on a video's frames (uint8 (T, H, W, C) .npy at the sampled fps) or I3D features
    python tools/infer.py configs/localization/afsd/afsd_i3d_thumos14_rgb.py afsd.pth \
        --input video_test_0000004.npy --fps 10 --out work_dirs/infer

    # from a video file (or a folder / list of videos): extractor -> localizer ->
    # OUT/results.json + OUT/<video>.srt (one cue per detection) + OUT/<video>_timeline.png
    python tools/infer.py configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py \
        bmn.pth --video my_video.mp4 --extractor configs/extractors/tsn_r50_rgb.py \
        --extractor-checkpoint tsn.pth --out out/ [--classifier cls_results.json]

This is :class:`mmloc.apis.LocalizationInferencer`: the config's test pipeline (adapted for a
raw input) -> the test dataloader's collate -> ``model.test_step``, the path ``tools/test.py``
takes, so both give the same numbers for the same video.

``--input``: a feature file (``.csv`` with a header line + one row of C floats per snippet,
``.npy``, ``.npz``, ``.pt``), in the layout the model's test dataset reads (ActivityNet-style
models: (L, C); SSN: (C, T) ``.npy``; AFSD: (T, H, W, C) uint8 frames or (T, C) features), or
a text file listing one such file per line, optionally followed by that video's duration in
seconds (``path [duration_s]``; relative paths are relative to the list). Models with a fixed
window (BMN, BSN TEM) get any length L resampled to it (spec §1.1). Segments are mapped to
seconds with the duration (``--duration`` or the list's column), else with
``L * --frames-per-snippet / --fps``; SSN also needs ``--fps`` (its proposals are in frames),
AFSD needs ``--fps`` (frame rate of the frames array) or the duration.

Multi-stage methods: a first-stage model that states a chain link (BSN's TEM) takes its next
stage with ``--next-config`` / ``--next-checkpoint`` (aliases ``--pem-config`` /
``--pem-checkpoint``) and the link's settings with ``--link-config`` (alias ``--pgm-config``,
the BSN PGM config); the intermediate TEM curves and PGM proposals stay in memory.

Writes ``OUT/results.json`` (the ``tools/test.py --out`` layout, video ids without ``v_``,
labels as class names where the config gives them, readable by
``tools/analysis/eval_metric.py`` and the plot tools) and prints the top predictions of each
video.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

FEATURE_EXTS = ('.csv', '.npy', '.npz', '.pt', '.pth')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config file (first stage of a chain)')
    parser.add_argument('checkpoint', help='checkpoint (mmloc or MMAction2 0.x/1.x)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--input', help='feature / frame file or a text list of them')
    source.add_argument('--video', help='a video file, a folder of videos or a text list of '
                        'them (needs --extractor)')
    parser.add_argument('--extractor', help='extractor config for --video '
                        '(configs/extractors/*.py)')
    parser.add_argument('--extractor-checkpoint', help='extractor weights (a local file)')
    parser.add_argument('--extractor-random-init', action='store_true',
                        help='random extractor weights (tests only)')
    parser.add_argument('--classifier', help='video-level classifier results '
                        '({"results": {video: [{"label", "score"}]}}): labels the proposals of '
                        'a proposal-only model (the report_map rule)')
    parser.add_argument('--top-k-classes', type=int, default=1,
                        help='with --classifier: classes per proposal (default 1)')
    parser.add_argument('--srt-top-k', type=int, default=None,
                        help='cues per video in the .srt (default: all detections)')
    parser.add_argument('--out', required=True, help='output folder (results.json)')
    parser.add_argument('--duration', type=float, help='video duration in seconds')
    parser.add_argument('--fps', type=float,
                        help='frame rate (SSN, AFSD); without --duration: duration = '
                        'L * frames-per-snippet / fps')
    parser.add_argument('--frames-per-snippet', type=float, default=None,
                        help='frames per feature row, with --fps (default 16; AFSD and '
                        'FeatureDataset configs: their feature stride)')
    parser.add_argument('--next-config', '--pem-config', dest='next_config',
                        help='config of the next stage of a chain (BSN: the PEM config)')
    parser.add_argument('--next-checkpoint', '--pem-checkpoint', dest='next_checkpoint',
                        help='checkpoint of the next stage (BSN: PEM)')
    parser.add_argument('--link-config', '--pgm-config', dest='link_config',
                        help='settings of the chain link (BSN: the PGM config)')
    parser.add_argument('--batch-size', type=int, default=1, help='videos per test step')
    parser.add_argument('--show-top', type=int, default=5,
                        help='predictions printed per video (default 5; all are written)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1', ...")
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow full pickle loading of a trusted checkpoint')
    args = parser.parse_args(argv)
    if args.video and not args.extractor:
        parser.error('--video needs --extractor (an extractor config)')
    if args.video and not (args.extractor_checkpoint or args.extractor_random_init):
        parser.error('--video needs --extractor-checkpoint (or --extractor-random-init)')
    if (args.next_config is None) != (args.next_checkpoint is None):
        parser.error('--next-config and --next-checkpoint go together')
    return args


def read_input_list(path, default_duration_s=None):
    """``[(input_path, duration_s or None)]`` from an input file or a list file."""
    if path.endswith(FEATURE_EXTS):
        return [(path, default_duration_s)]
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: input list not found')
    root = osp.dirname(osp.abspath(path))
    items = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split('#', 1)[0].split()
            if not parts:
                continue
            if len(parts) > 2 or not parts[0].endswith(FEATURE_EXTS):
                raise ValueError(f'{path}:{lineno}: expected "feature_file.csv|.npy|.npz|.pt '
                                 f'[duration_s]", got {line.strip()!r}')
            feature = parts[0] if osp.isabs(parts[0]) else osp.join(root, parts[0])
            try:
                duration = float(parts[1]) if len(parts) == 2 else default_duration_s
            except ValueError:
                raise ValueError(f'{path}:{lineno}: duration must be a number of seconds, '
                                 f'got {parts[1]!r}') from None
            items.append((feature, duration))
    if not items:
        raise ValueError(f'{path}: the input list names no feature file')
    return items


def video_id_of(feature_path):
    """Results key: the file stem without ``v_`` (as ``tools/test.py`` writes ids)."""
    stem = osp.splitext(osp.basename(feature_path))[0]
    return stem[2:] if stem.startswith('v_') else stem


def main(argv=None):
    args = parse_args(argv)
    from mmloc.apis import LocalizationInferencer
    from mmloc.engine import set_unsafe_checkpoint_loading
    from mmloc.evaluation.formats import write_results

    set_unsafe_checkpoint_loading(args.unsafe_load)
    if args.video:
        from mmloc.apis.extraction import list_videos
        items = [(v, None) for v in list_videos(args.video)]
    else:
        items = read_input_list(args.input, args.duration)
    videos, seen = [], {}
    for path, duration_s in items:
        vid = video_id_of(path)
        if vid in seen:
            raise SystemExit(f'{path}: video id {vid} appears twice in {args.input}')
        seen[vid] = path
        videos.append(path if args.video else dict(input=path, duration_s=duration_s))
    next_stage = (args.next_config, args.next_checkpoint) if args.next_config else None
    inferencer = LocalizationInferencer(args.config, args.checkpoint, device=args.device,
                                        next_stage=next_stage, link_cfg=args.link_config,
                                        extractor=args.extractor,
                                        extractor_checkpoint=args.extractor_checkpoint,
                                        extractor_random_init=args.extractor_random_init)
    try:
        out = inferencer(videos, batch_size=args.batch_size, fps=args.fps,
                         frames_per_snippet=args.frames_per_snippet)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    classes = inferencer.classes
    results = {}
    for (path, _), pred in zip(items, out['predictions']):
        vid = video_id_of(path)
        rec = dict(segments=pred['segments'], scores=pred['scores'])
        if 'labels' in pred:
            rec['labels'] = [classes[i] if classes and 0 <= i < len(classes) else i
                             for i in pred['labels']]
        results[vid] = rec
    if args.classifier:
        results = label_with_classifier(results, args.classifier, args.top_k_classes)
    for vid, rec in results.items():
        n = len(rec['scores'])
        print(f'{vid}: {n} {"detections" if "labels" in rec else "proposals"}, '
              f'top {min(args.show_top, n)}:')
        for i in range(min(args.show_top, n)):
            line = {'score': round(rec['scores'][i], 3),
                    'segment': [round(rec['segments'][i][0], 2),
                                round(rec['segments'][i][1], 2)]}
            if 'labels' in rec:
                line['label'] = rec['labels'][i]
            print(line)
    os.makedirs(args.out, exist_ok=True)
    out_file = osp.join(args.out, 'results.json')
    write_results(out_file, results)
    print(f'results of {len(results)} video(s): {out_file}')
    if args.video:
        write_video_outputs(args.out, items, results, inferencer.last_sidecars, args.srt_top_k)
    return results


def label_with_classifier(results, classifier_file, top_k_classes=1):
    """Proposals (no labels) -> detections labelled by video-level class scores."""
    import numpy as np

    from mmloc.evaluation.formats import read_classifier_results
    from mmloc.evaluation.metrics.detection_metric import proposals_to_detections
    arrays = {vid: dict(segments=np.asarray(r['segments'], np.float64).reshape(-1, 2),
                        scores=np.asarray(r['scores'], np.float64)) for vid, r in results.items()
              if 'labels' not in r}
    if not arrays:
        return results
    labelled = proposals_to_detections(arrays, read_classifier_results(classifier_file),
                                       top_k_classes)
    out = dict(results)
    for vid, rec in labelled.items():
        order = np.argsort(-rec['scores'], kind='stable')
        out[vid] = dict(segments=rec['segments'][order].tolist(),
                        scores=rec['scores'][order].tolist(),
                        labels=[rec['labels'][i] for i in order])
    return out


def write_video_outputs(out_dir, items, results, sidecars, srt_top_k=None):
    """``<video>.srt`` and ``<video>_timeline.png`` per video, and its feature sidecar."""
    from mmloc.apis.video_outputs import write_srt, write_timeline
    from mmloc.utils.io import atomic_write_json
    for path, _ in items:
        vid = video_id_of(path)
        rec = results[vid]
        sidecar = sidecars[os.fspath(path)]
        srt = write_srt(osp.join(out_dir, f'{vid}.srt'), rec['segments'], rec['scores'],
                        rec.get('labels'), srt_top_k)
        png = write_timeline(osp.join(out_dir, f'{vid}_timeline.png'), rec['segments'],
                             rec['scores'], sidecar['duration_s'], title=vid)
        atomic_write_json(osp.join(out_dir, f'{vid}.sidecar.json'), sidecar, indent=1)
        print(f'{vid}: {srt}, {png}')


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
