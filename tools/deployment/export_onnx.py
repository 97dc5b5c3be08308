"""Export a localizer's network (its ``tensor`` mode) to ONNX and check it with onnxruntime.

Examples:
    python tools/deployment/export_onnx.py \
        configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py bmn.pth --out bmn.onnx
    python tools/deployment/export_onnx.py \
        configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py tem.pth \
        --out tem.onnx
    python tools/deployment/export_onnx.py \
        configs/localization/afsd/afsd_i3d_thumos14_rgb.py afsd_rgb.pth --out afsd.onnx

What is exported is stated by the model, not by this tool: a model is exportable when it has
``export_spec()`` (an :class:`mmloc.models.export.ExportSpec`: the ``tensor``-mode graph,
input names / shapes / dtypes with dynamic axes, output names, example inputs). The tool names
no model class. Today (needs ``pip install -r requirements/optional.txt``):

* BMN: ``features`` (B, C, T) -> ``bm`` (B, 2, T, T) ``[reg, cls]`` indexed [d, s], ``start``
  (B, T), ``end`` (B, T). The fused sparse BM layer is exported through its forward pass
  (its ``embedding_bag`` becomes an ONNX ``Loop``); ``--cfg-options model.bm_layer=dense``
  exports MMAction2's dense mask instead (same weights, a 128 MB constant, about 6x slower).
* BSN TEM: ``features`` (B, C, T) -> ``tem`` (B, 3, T) ``[action, start, end]`` (B, T dynamic).
* BSN PEM: ``bsp_feature`` (N, 32) -> ``iou`` (N, 1) (N dynamic).
* AFSD: one test window, ``clip`` (B, C, L, crop, crop) float frames already normalised to
  [-1, 1] (``x / 255 * 2 - 1``; feature variant: ``features`` (B, C, L/4)) -> the raw outputs
  ``loc``, ``conf``, ``prop_loc``, ``prop_conf``, ``center`` that ``decode_window`` reads.
  The constant ``priors`` (K,) is stored in the ONNX metadata (``metadata_props['priors']``,
  a JSON list). Boundary max pooling is in the graph: its bounds used ``aten::trunc``, which
  has no ONNX symbolic; they are now computed as clamp-then-floor, equal for every finite
  bound (``tests/afsd/test_boundary_pooling.py``), and the masked max exports as Where +
  ReduceMax. Its indices come from ``round()`` of the predicted distances, so a distance within
  float rounding of a .5 boundary can pick a neighbouring index in onnxruntime: a
  difference well above float noise on one location is possible, though not seen in tests.

The batch axis (and T for TEM, N for PEM) is dynamic. Post-processing (boundary candidates,
Soft-NMS, PGM, AFSD's windows and decoding, seconds) stays in Python: for BMN,
``mmloc.models.localizers.bmn.bmn_candidates`` and ``mmloc.models.utils.post_processing`` on
the onnxruntime outputs give ``BMN.predict``'s proposals. Unless ``--no-verify``, the exported
model is run with onnxruntime on random inputs (two shapes, to check the dynamic axes) and the
largest absolute difference to PyTorch is printed per output; the last line is a JSON object,
and the exit status is 1 when a difference exceeds ``--atol`` (+ ``--rtol`` x |PyTorch|).

Measured (random weights, batch 1 and 2, onnxruntime 1.32, torch 2.13 CPU, opset 17): BMN
400x100 6.0e-8, TEM 6.0e-8, PEM 6.0e-8; AFSD synthetic demo 8.1e-6, AFSD features
(2048 x 256) 1.3e-5, AFSD I3D RGB (256 x 96 x 96) 1.1e-4 on ``loc`` (values up to 35 frames:
4.8e-6 relative, so ``--rtol 1e-5``), <= 6.9e-6 on the other outputs.
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
    parser.add_argument('config', help='config of a model with export_spec() (BMN, TEM, PEM, '
                        'AFSD, ...)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint (omit: random weights)')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument('--batch-size', type=int, default=1, help='example batch (default 1)')
    parser.add_argument('--num-proposals', type=int, default=1000,
                        help='PEM: example number of proposals (default 1000)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (default 17)')
    parser.add_argument('--no-verify', action='store_true', help='skip the onnxruntime check')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted |onnxruntime - PyTorch| (default 1e-4)')
    parser.add_argument('--rtol', type=float, default=0.0,
                        help='plus this share of |PyTorch| per element (default 0; full-size '
                        'AFSD, whose loc is in frames: 1e-5)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random check inputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. model.bm_layer=dense')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow full pickle loading of a trusted checkpoint')
    return parser.parse_args(argv)


def exportable_models():
    """Names of the registered models that state an ``export_spec``."""
    from mmloc.registry import MODELS
    from mmloc.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if callable(getattr(cls, 'export_spec', None)))


def model_kind(model):
    """The model's class name; a model without ``export_spec()`` is refused."""
    name = type(model).__name__
    if not callable(getattr(model, 'export_spec', None)):
        raise TypeError(f'{name}: ONNX export supports the models that state an export_spec() '
                        f'({", ".join(exportable_models())}); {name} has none')
    return name


def export_spec(model):
    model_kind(model)
    return model.export_spec()


def _sizes(batch_size=1, num_proposals=1000):
    return dict(batch=batch_size, proposals=num_proposals)


def random_input(model, batch_size=1, num_proposals=1000, seed=0):
    """Seeded random input(s) of the model's export shapes: a tensor, or a tuple when the
    graph has several inputs."""
    xs = export_spec(model).example_inputs(seed, **_sizes(batch_size, num_proposals))
    return xs[0] if len(xs) == 1 else xs


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, )


def export_onnx(model, out_file, example, opset=17):
    """Trace the model's export graph on ``example`` into ``out_file`` (TorchScript exporter);
    the spec's constants go into the ONNX metadata as JSON lists."""
    model = model.cpu().eval()
    spec = export_spec(model)
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        # tracer warnings about Python-side shape checks: the checks hold for the traced shape
        warnings.simplefilter('ignore')
        torch.onnx.export(spec.graph.eval(), _as_tuple(example), out_file, dynamo=False,
                          input_names=list(spec.input_names),
                          output_names=list(spec.output_names),
                          dynamic_axes=spec.dynamic_axes, opset_version=opset)
    if spec.constants:
        import onnx
        proto = onnx.load(out_file)
        onnx.helper.set_model_props(proto, {name: json.dumps(value.tolist())
                                            for name, value in spec.constants.items()})
        onnx.save(proto, out_file)
    return out_file


def onnxruntime_outputs(onnx_file, x):
    """Run ``onnx_file`` on ``x`` (an array, or a tuple for several inputs) with onnxruntime
    (CPU): ``{output_name: ndarray}``."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_file, options, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    feeds = {i.name: np.asarray(v, dtype=np.float32)
             for i, v in zip(session.get_inputs(), _as_tuple(x))}
    outs = session.run(names, feeds)
    return dict(zip(names, outs))


@torch.no_grad()
def compare(model, onnx_file, x, atol=1e-4, rtol=0.0):
    """``({output: max |onnxruntime - PyTorch|}, ok)`` on input ``x``; ``ok``: every element
    within ``atol + rtol * |PyTorch|``."""
    spec = export_spec(model.cpu().eval())
    xs = _as_tuple(x)
    ref = spec.graph.eval()(*xs)
    got = onnxruntime_outputs(onnx_file, tuple(t.numpy() for t in xs))
    diffs, ok = {}, True
    for name, r in zip(spec.output_names, ref):
        if got[name].shape != tuple(r.shape):
            raise AssertionError(f'{onnx_file}: output {name} has shape {got[name].shape}, '
                                 f'PyTorch gives {tuple(r.shape)}')
        want = r.double().numpy()
        diff = np.abs(got[name].astype(np.float64) - want)
        diffs[name] = float(diff.max()) if diff.size else 0.0
        ok = ok and bool(np.all(diff <= atol + rtol * np.abs(want)))
    return diffs, ok


def max_abs_diff(model, onnx_file, x):
    """``{output_name: max |onnxruntime - PyTorch|}`` on input ``x``."""
    return compare(model, onnx_file, x)[0]


def main(argv=None):
    args = parse_args(argv)
    from mmloc.apis import init_localizer
    from mmloc.engine import set_unsafe_checkpoint_loading

    set_unsafe_checkpoint_loading(args.unsafe_load)
    model = init_localizer(args.config, args.checkpoint, device='cpu',
                           cfg_options=args.cfg_options)
    kind = model_kind(model)
    example = random_input(model, args.batch_size, args.num_proposals, args.seed)
    export_onnx(model, args.out, example, args.opset)
    size_mb = osp.getsize(args.out) / 2**20
    print(f'{kind} exported to {args.out} ({size_mb:.1f} MiB)')
    report = dict(model=kind, onnx=args.out, size_mib=round(size_mb, 2))
    if not args.no_verify:
        # a second input shape checks the dynamic axes as well
        checks = [example, random_input(model, args.batch_size + 1, args.num_proposals + 7,
                                        args.seed + 1)]
        diffs, ok = {}, True
        for x in checks:
            got, within = compare(model, args.out, x, args.atol, args.rtol)
            ok = ok and within
            for name, d in got.items():
                diffs[name] = max(d, diffs.get(name, 0.0))
        for name, d in diffs.items():
            print(f'max |onnxruntime - PyTorch| of {name}: {d:.3e}')
        report['max_abs_diff'] = diffs
        report['ok'] = ok
    print(json.dumps(report))
    if not report.get('ok', True):
        raise SystemExit(1)
    return report


if __name__ == '__main__':
    from mmloc.utils.cli import run_tool
    run_tool(main)
