"""Convert an official ActionFormer / TriDet checkpoint (``epoch_XXX.pth.tar``) to mmloc's.

Writes ``{'state_dict': <the EMA weights, 'module.' removed>, 'meta': ...}`` (upstream
evaluates ``state_dict_ema``; ``--no-ema`` takes ``state_dict``). With ``--config`` the
result is loaded strictly into that config's model first, so a wrong config fails here.

    python tools/misc/convert_actionformer_checkpoint.py epoch_034.pth.tar af_thumos.pth \
        --config configs/localization/actionformer/actionformer_i3d_thumos14.py
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official checkpoint (epoch_XXX.pth.tar)')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument('--config', help='check: load strictly into this config\'s model')
    parser.add_argument('--no-ema', action='store_true', help="use 'state_dict', not the EMA")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from mmloc.models.actionformer.checkpoint import convert_upstream_checkpoint
    from mmloc.utils.checkpoint import safe_torch_load
    if not osp.isfile(args.src):
        raise SystemExit(f'{args.src}: checkpoint not found')
    try:
        ckpt = safe_torch_load(args.src, map_location='cpu')
        out = convert_upstream_checkpoint(ckpt, use_ema=not args.no_ema)
    except ValueError as e:
        raise SystemExit(f'{args.src}: {e}')
    if args.config:
        from mmengine.config import Config

        from mmloc.registry import MODELS
        from mmloc.utils import register_all_modules
        register_all_modules()
        model = MODELS.build(Config.fromfile(args.config).model)
        try:
            model.load_state_dict(out['state_dict'], strict=True)
        except RuntimeError as e:
            raise SystemExit(f'{args.src}: does not fit {args.config}: {e}')
    torch.save(out, args.dst)
    print(f"{args.dst}: {len(out['state_dict'])} tensors ({out['meta']['upstream_weights']})")
    return args.dst


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
