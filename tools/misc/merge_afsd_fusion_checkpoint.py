"""Merge an RGB and a flow AFSD checkpoint into one RGB + flow fusion checkpoint.

The RGB network goes to ``net.*`` and the flow network to ``fusion_net.*`` of
``AFSD(fusion_net=...)``, whose test averages the two networks' raw outputs (spec §5.3).
The merged state is loaded strictly into the fusion config's model before it is written;
any missing, extra or reshaped tensor is an error naming the file it comes from.

Example:
    python tools/misc/merge_afsd_fusion_checkpoint.py rgb_epoch_15.pth flow_epoch_16.pth \
        --out work_dirs/afsd_fusion.pth
    python tools/test.py configs/localization/afsd/afsd_i3d_thumos14_fusion.py \
        work_dirs/afsd_fusion.pth --eval mAP --out fusion.json
"""
import argparse
import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

DEFAULT_CONFIG = osp.join(REPO, 'configs/localization/afsd/afsd_i3d_thumos14_fusion.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('rgb', help='single-stream RGB AFSD checkpoint (.pth)')
    parser.add_argument('flow', help='single-stream flow AFSD checkpoint (.pth)')
    parser.add_argument('--out', required=True, help='fusion checkpoint to write (.pth)')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='fusion config whose model the result must fit (default: '
                             'configs/localization/afsd/afsd_i3d_thumos14_fusion.py)')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='load trusted checkpoints with full pickle (weights_only=False)')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmloc.apis.afsd_fusion import merge_fusion_checkpoint_files
    from mmloc.engine import setup_runtime
    setup_runtime(unsafe_load=args.unsafe_load)
    ckpt = merge_fusion_checkpoint_files(args.rgb, args.flow, args.out, config=args.config)
    print(json.dumps(dict(out=args.out, tensors=len(ckpt['state_dict']), **ckpt['meta']['fusion'])))


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
