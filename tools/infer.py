"""Proposals for one feature file or a list of them, in seconds.

Examples:
    python tools/infer.py configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py \
        bmn.pth --input v_abc.csv --duration 122.99 --out work_dirs/infer
    python tools/infer.py CONFIG CKPT --input videos.txt --fps 30 --out work_dirs/infer

``--input``: a ``.csv`` (header line + one row of C floats per snippet) or ``.npy`` (L, C)
feature file, or a text file listing one feature file per line, optionally followed by that
video's duration in seconds (``path [duration_s]``; relative paths are relative to the list).
Sequences of any length L are resampled to the model's window (spec §1.1). Segments are mapped
back to seconds with the duration (``--duration`` or the list's column), else with
``L * --frames-per-snippet / --fps``.

Writes ``OUT/results.json`` (the ``tools/test.py --out`` layout, video ids without ``v_``,
readable by ``tools/analysis/eval_metric.py`` and the plot tools) and prints the top proposals
of each video.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

FEATURE_EXTS = ('.csv', '.npy')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint (mmloc or MMAction2 0.x/1.x)')
    parser.add_argument('--input', required=True,
                        help='feature file (.csv/.npy) or a text list of feature files')
    parser.add_argument('--out', required=True, help='output folder (results.json)')
    when = parser.add_mutually_exclusive_group()
    when.add_argument('--duration', type=float, help='video duration in seconds')
    when.add_argument('--fps', type=float,
                      help='frame rate: duration = L * frames-per-snippet / fps')
    parser.add_argument('--frames-per-snippet', type=int, default=16,
                        help='frames per feature row, with --fps (default 16)')
    parser.add_argument('--show-top', type=int, default=5,
                        help='proposals printed per video (default 5; all are written)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1', ...")
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow full pickle loading of a trusted checkpoint')
    return parser.parse_args(argv)


def read_input_list(path, default_duration_s=None):
    """``[(feature_path, duration_s or None)]`` from a feature file or a list file."""
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
                raise ValueError(f'{path}:{lineno}: expected "feature_file.csv|.npy '
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
    from mmloc.apis import inference_localizer, init_localizer
    from mmloc.engine import set_unsafe_checkpoint_loading
    from mmloc.evaluation.formats import write_results

    set_unsafe_checkpoint_loading(args.unsafe_load)
    items = read_input_list(args.input, args.duration)
    model = init_localizer(args.config, args.checkpoint, device=args.device)
    results = {}
    for feature, duration_s in items:
        if duration_s is None and args.fps is None:
            raise SystemExit(f'{feature}: no duration: give --duration, --fps or a duration '
                             'column in the input list')
        proposals = inference_localizer(model, feature, duration_s=duration_s, fps=args.fps,
                                        frames_per_snippet=args.frames_per_snippet)
        vid = video_id_of(feature)
        if vid in results:
            raise SystemExit(f'{feature}: video id {vid} appears twice in {args.input}')
        results[vid] = dict(segments=[p['segment'] for p in proposals],
                            scores=[p['score'] for p in proposals])
        print(f'{vid}: {len(proposals)} proposals, top {min(args.show_top, len(proposals))}:')
        for p in proposals[:args.show_top]:
            print({'score': round(p['score'], 3),
                   'segment': [round(p['segment'][0], 2), round(p['segment'][1], 2)]})
    os.makedirs(args.out, exist_ok=True)
    out_file = osp.join(args.out, 'results.json')
    write_results(out_file, results)
    print(f'results of {len(results)} video(s): {out_file}')
    return results


if __name__ == '__main__':
    main()
