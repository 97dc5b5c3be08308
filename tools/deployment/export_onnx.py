"""Export the network part of BMN, BSN TEM or BSN PEM to ONNX and check it with onnxruntime.

Examples:
    python tools/deployment/export_onnx.py \
        configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py bmn.pth --out bmn.onnx
    python tools/deployment/export_onnx.py \
        configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py tem.pth \
        --out tem.onnx
    python tools/deployment/export_onnx.py \
        configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py pem.pth \
        --out pem.onnx

The graph is ``forward(mode='tensor')`` (needs ``pip install -r requirements/optional.txt``):

* BMN: ``features`` (B, C, T) -> ``bm`` (B, 2, T, T) ``[reg, cls]`` indexed [d, s], ``start``
  (B, T), ``end`` (B, T). The fused sparse BM layer is exported through its forward pass
  (its ``embedding_bag`` becomes an ONNX ``Loop``); ``--cfg-options model.bm_layer=dense``
  exports MMAction2's dense mask instead (same weights, a 128 MB constant, about 6x slower).
* TEM: ``features`` (B, C, T) -> ``tem`` (B, 3, T) ``[action, start, end]``.
* PEM: ``bsp_feature`` (N, 32) -> ``iou`` (N, 1).

The batch axis (and T for TEM, N for PEM) is dynamic. Post-processing (boundary candidates,
Soft-NMS, seconds) stays in Python: ``mmloc.models.localizers.bmn.bmn_candidates`` and
``mmloc.models.utils.post_processing`` on the onnxruntime outputs give ``BMN.predict``'s
proposals. Unless ``--no-verify``, the exported model is run with onnxruntime on random inputs
and the largest absolute difference to PyTorch is printed per output; the last line is a
JSON object, and the exit status is 1 when a difference exceeds ``--atol``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='BMN, TEM or PEM config')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint (omit: random weights)')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument('--batch-size', type=int, default=1, help='example batch (default 1)')
    parser.add_argument('--num-proposals', type=int, default=1000,
                        help='PEM: example number of proposals (default 1000)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (default 17)')
    parser.add_argument('--no-verify', action='store_true', help='skip the onnxruntime check')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted |onnxruntime - PyTorch| (default 1e-4)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random check inputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. model.bm_layer=dense')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow full pickle loading of a trusted checkpoint')
    return parser.parse_args(argv)


class TensorMode(torch.nn.Module):
    """``model(x, mode='tensor')`` as a plain module with tensor outputs only."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, mode='tensor')


def model_kind(model):
    """``'BMN'``, ``'TEM'`` or ``'PEM'`` (the exportable models)."""
    name = type(model).__name__
    if name not in ('BMN', 'TEM', 'PEM'):
        raise TypeError(f'{name}: ONNX export supports BMN, TEM and PEM')
    return name


def io_spec(model):
    """``(input_name, output_names, dynamic_axes)`` of the model's graph."""
    kind = model_kind(model)
    if kind == 'BMN':
        return 'features', ['bm', 'start', 'end'], {
            'features': {0: 'batch'}, 'bm': {0: 'batch'}, 'start': {0: 'batch'},
            'end': {0: 'batch'}}
    if kind == 'TEM':
        return 'features', ['tem'], {'features': {0: 'batch', 2: 'time'},
                                     'tem': {0: 'batch', 2: 'time'}}
    return 'bsp_feature', ['iou'], {'bsp_feature': {0: 'proposals'}, 'iou': {0: 'proposals'}}


def random_input(model, batch_size=1, num_proposals=1000, seed=0):
    """Random float32 input of the model's shape: (B, C, T) or, for PEM, (N, 32)."""
    gen = torch.Generator().manual_seed(seed)
    kind = model_kind(model)
    if kind == 'PEM':
        shape = (num_proposals, model.feat_dim)
    else:
        shape = (batch_size, model.feat_dim, model.tscale if kind == 'BMN' else model.temporal_dim)
    return torch.rand(shape, generator=gen, dtype=torch.float32)


def export_onnx(model, out_file, example, opset=17):
    """Trace ``model(example, mode='tensor')`` into ``out_file`` (TorchScript exporter)."""
    input_name, output_names, dynamic_axes = io_spec(model)
    model = model.cpu().eval()
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        # tracer warnings about Python-side shape checks: the checks hold for the traced shape
        warnings.simplefilter('ignore')
        torch.onnx.export(TensorMode(model), (example, ), out_file, dynamo=False,
                          input_names=[input_name], output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=opset)
    return out_file


def onnxruntime_outputs(onnx_file, x):
    """Run ``onnx_file`` on ``x`` with onnxruntime (CPU): ``{output_name: ndarray}``."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_file, options, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    outs = session.run(names, {session.get_inputs()[0].name: np.asarray(x, dtype=np.float32)})
    return dict(zip(names, outs))


@torch.no_grad()
def max_abs_diff(model, onnx_file, x):
    """``{output_name: max |onnxruntime - PyTorch|}`` on input ``x``."""
    _, output_names, _ = io_spec(model)
    ref = model.cpu().eval()(x, mode='tensor')
    ref = ref if isinstance(ref, (tuple, list)) else (ref, )
    got = onnxruntime_outputs(onnx_file, x.numpy())
    diffs = {}
    for name, r in zip(output_names, ref):
        if got[name].shape != tuple(r.shape):
            raise AssertionError(f'{onnx_file}: output {name} has shape {got[name].shape}, '
                                 f'PyTorch gives {tuple(r.shape)}')
        diffs[name] = float(np.abs(got[name].astype(np.float64) - r.double().numpy()).max())
    return diffs


def main(argv=None):
    args = parse_args(argv)
    from mmloc.apis import init_localizer
    from mmloc.engine import set_unsafe_checkpoint_loading

    set_unsafe_checkpoint_loading(args.unsafe_load)
    model = init_localizer(args.config, args.checkpoint, device='cpu',
                           cfg_options=args.cfg_options)
    example = random_input(model, args.batch_size, args.num_proposals, args.seed)
    export_onnx(model, args.out, example, args.opset)
    size_mb = osp.getsize(args.out) / 2**20
    print(f'{model_kind(model)} exported to {args.out} ({size_mb:.1f} MiB)')
    report = dict(model=model_kind(model), onnx=args.out, size_mib=round(size_mb, 2))
    if not args.no_verify:
        # a second input shape checks the dynamic axes as well
        checks = [example, random_input(model, args.batch_size + 1, args.num_proposals + 7,
                                        args.seed + 1)]
        diffs = {}
        for x in checks:
            for name, d in max_abs_diff(model, args.out, x).items():
                diffs[name] = max(d, diffs.get(name, 0.0))
        for name, d in diffs.items():
            print(f'max |onnxruntime - PyTorch| of {name}: {d:.3e}')
        report['max_abs_diff'] = diffs
        report['ok'] = all(d <= args.atol for d in diffs.values())
    print(json.dumps(report))
    if not report.get('ok', True):
        raise SystemExit(1)
    return report


if __name__ == '__main__':
    main()
