"""Convert a checkpoint of the official AFSD release to an mmloc checkpoint.

The input is a ``checkpoint-<epoch>.ckpt`` that AFSD's ``train.py`` saves (a bare ``BDNet``
state dict). Its tensors are renamed to ``AFSD``'s ``net.*`` keys (same shapes and values) and
loaded strictly into the model of ``--config`` before the file is written. Conversion is
optional: ``tools/test.py`` and ``merge_afsd_fusion_checkpoint.py`` read the original files
directly.

Example:
    python tools/misc/convert_afsd_checkpoint.py models/thumos14/checkpoint-15.ckpt \
        --out work_dirs/afsd_rgb_epoch15.pth
    python tools/test.py configs/localization/afsd/afsd_i3d_thumos14_rgb.py \
        work_dirs/afsd_rgb_epoch15.pth --eval mAP --out rgb.json
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='original AFSD checkpoint (checkpoint-<epoch>.ckpt)')
    parser.add_argument('--out', required=True, help='mmloc checkpoint to write (.pth)')
    parser.add_argument('--config', help='single-stream config whose model the result must fit '
                        '(default: afsd_i3d_thumos14_rgb.py for 3 input channels, '
                        'afsd_i3d_thumos14_flow.py for 2)')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load a trusted checkpoint with full pickle (weights_only=False)')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmloc.apis.afsd_convert import convert_original_checkpoint_file
    from mmloc.engine import setup_runtime
    setup_runtime(unsafe_load=args.unsafe_load)
    ckpt = convert_original_checkpoint_file(args.checkpoint, args.out, config=args.config)
    print(json.dumps(dict(out=args.out, tensors=len(ckpt['state_dict']), **ckpt['meta'])))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
