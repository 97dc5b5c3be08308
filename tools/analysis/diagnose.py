"""Diagnose detections (or proposals) as DETAD does: false-positive profile, sensitivity and
false-negative rates per ground-truth bucket. Writes PNG figures and ``diagnosis.json``.

Examples:
    python tools/analysis/diagnose.py results.json --ann activity_net.v1-3.min.json \
        --subset validation --out-dir work_dirs/diagnosis
    python tools/analysis/diagnose.py det.json --ann thumos14.json --protocol thumos14 \
        --subset test --out-dir work_dirs/diagnosis_thumos

Results: ours/MMAction2 results.json or the official submission JSON. With labels, the
detections are analysed and also their class-agnostic view (``proposal_*`` figures); without
labels, only the class-agnostic view. Annotations: official ActivityNet JSON, MMAction2
annotation JSON or hybrid GT (``--subset`` applies to files with a ``subset`` field), and DETAD's
``*_extra_characteristics.json``, whose per-instance ``coverage`` / ``length`` / ``num-instances``
are used as given. Coverage is otherwise computed from the video duration (``duration`` /
``duration_second``); a warning says when neither is there.
The last printed line is one JSON object with the headline figures.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', help='results JSON (ours/MMAction2 or official submission)')
    parser.add_argument('--ann', required=True, help='annotation / ground-truth JSON')
    parser.add_argument('--protocol', default='anet', choices=['anet', 'thumos14'],
                        help='buckets and default tIoU: anet 0.5:0.05:0.95, thumos14 0.5 (DETAD)')
    parser.add_argument('--out-dir', required=True, help='folder for the PNGs and diagnosis.json')
    parser.add_argument('--subset', default=None,
                        help='GT subset for files with a "subset" field (e.g. validation, test)')
    parser.add_argument('--blocked', help='official blocked-video list (JSON list of ids)')
    parser.add_argument('--tiou', type=float, nargs='+', help='explicit tIoU thresholds alpha')
    parser.add_argument('--ignore-labels', nargs='*', default=['Ambiguous'],
                        help='GT/prediction labels left out (default: Ambiguous)')
    parser.add_argument('--limit-factor', type=int, default=10,
                        help='K of the top-KG false-positive profile (default 10)')
    parser.add_argument('--fn-min-precision', type=float, default=0.05,
                        help='false negatives: a GT counts as detected only by predictions ranked '
                             'where the normalised precision exceeds this (default 0.05, DETAD\'s; '
                             '0 = any rank)')
    return parser.parse_args(argv)


def headline(summary: dict) -> dict:
    """The numbers printed at the end: average-mAP(_N), gains and FN rate."""
    fp = summary['false_positive']
    out = {'average_mAP': summary['average_mAP'], 'average_mAP_N': summary['average_mAP_N'],
           'false_negative_rate': summary['false_negative']['overall']}
    out.update({f'gain_{k}': v for k, v in fp['average_mAP_N_gain'].items()})
    return out


def main(argv=None):
    args = parse_args(argv)
    from mmloc.evaluation.diagnosis import diagnose_files, json_ready
    from mmloc.utils import atomic_write_json
    from mmloc.visualization.diagnosis_plots import plot_diagnosis
    result = diagnose_files(args.results, args.ann, protocol=args.protocol, subset=args.subset,
                            blocked=args.blocked, ignore_labels=args.ignore_labels,
                            tiou_thresholds=args.tiou, limit_factor=args.limit_factor,
                            fn_min_precision=args.fn_min_precision)
    os.makedirs(args.out_dir, exist_ok=True)
    figures, lines = {}, {}
    title = osp.basename(args.results)
    for key, prefix in (('detection', ''), ('class_agnostic', 'proposal_')):
        summary = result[key]
        if summary is None:
            continue
        figures[key] = plot_diagnosis(summary, args.out_dir, prefix=prefix, title=title)
        lines[key] = headline(summary)
        for name, value in lines[key].items():
            print(f'{key} {name}: {value:.4f}')
    result['figures'] = figures
    result['inputs'] = dict(results=osp.abspath(args.results), ann=osp.abspath(args.ann),
                            protocol=args.protocol, subset=args.subset)
    atomic_write_json(osp.join(args.out_dir, 'diagnosis.json'), json_ready(result))
    print(json.dumps(json_ready(lines)))
    return result


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
