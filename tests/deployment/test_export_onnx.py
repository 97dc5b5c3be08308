"""ONNX export of BMN (fused and dense BM layer), TEM and PEM: onnxruntime vs. PyTorch.

Needs ``onnx`` and ``onnxruntime`` (requirements/optional.txt); skipped without them.
"""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from mmloc.apis import init_localizer  # noqa: E402
from mmloc.models.localizers.bmn import bmn_candidates  # noqa: E402
from mmloc.models.utils import post_processing  # noqa: E402
from mmloc.structures import LocalizationDataSample  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('export_onnx_tool',
                                              osp.join(REPO, 'tools/deployment/export_onnx.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

ATOL = 1e-4


def _export(model, path, batch=2, proposals=50):
    example = tool.random_input(model, batch, proposals, seed=0)
    tool.export_onnx(model, str(path), example)
    return example


def test_bmn_fused_export_matches_pytorch(tiny_models, tmp_path):
    bmn = init_localizer(tiny_models['BMN']['config'], tiny_models['BMN']['checkpoint'])
    assert bmn.bm_layer == 'fused'
    onnx_file = tmp_path / 'bmn.onnx'
    _export(bmn, onnx_file, batch=2)
    import onnx
    onnx.checker.check_model(str(onnx_file))
    for batch, seed in ((2, 1), (3, 2), (1, 3)):  # dynamic batch axis
        x = tool.random_input(bmn, batch, seed=seed)
        diffs = tool.max_abs_diff(bmn, str(onnx_file), x)
        assert set(diffs) == {'bm', 'start', 'end'}
        assert max(diffs.values()) <= ATOL, diffs


def test_bmn_dense_export_with_the_same_weights(tiny_models, tmp_path):
    cfg = tiny_models['BMN']
    fused = init_localizer(cfg['config'], cfg['checkpoint'])
    dense = init_localizer(cfg['config'], cfg['checkpoint'],
                           cfg_options={'model.bm_layer': 'dense'})
    onnx_file = tmp_path / 'bmn_dense.onnx'
    _export(dense, onnx_file)
    x = tool.random_input(dense, 2, seed=5)
    assert max(tool.max_abs_diff(dense, str(onnx_file), x).values()) <= ATOL
    # and the dense graph computes what the fused PyTorch model computes
    got = tool.onnxruntime_outputs(str(onnx_file), x.numpy())
    with torch.no_grad():
        bm, start, end = fused(x, mode='tensor')
    np.testing.assert_allclose(got['bm'], bm.numpy(), atol=ATOL)
    np.testing.assert_allclose(got['start'], start.numpy(), atol=ATOL)


def test_python_post_processing_on_onnx_outputs_gives_predict(tiny_models, tmp_path):
    bmn = init_localizer(tiny_models['BMN']['config'], tiny_models['BMN']['checkpoint'])
    onnx_file = tmp_path / 'bmn.onnx'
    _export(bmn, onnx_file, batch=1)
    x = tool.random_input(bmn, 2, seed=11)
    out = tool.onnxruntime_outputs(str(onnx_file), x.numpy())
    samples = []
    for i in range(2):
        s = LocalizationDataSample()
        s.set_metainfo(dict(video_name=f'v_{i}', duration_second=90.0 + i, duration_frame=2700))
        samples.append(s)
    with torch.no_grad():
        preds = bmn(x, samples, mode='predict')
    for i, pred in enumerate(preds):
        rows = bmn_candidates(out['start'][i], out['end'][i], out['bm'][i, 1], out['bm'][i, 0])
        # output seconds: (2700 // 16 * 16) / 2700 * duration (spec §1.3)
        duration_s = (2700 // 16 * 16) / 2700 * (90.0 + i)
        segments, scores = post_processing(rows, duration_s, bmn.soft_nms_alpha,
                                           bmn.soft_nms_low_threshold,
                                           bmn.soft_nms_high_threshold, bmn.post_process_top_k)
        ref_scores = pred.pred_instances.scores.numpy()
        ref_segments = pred.pred_instances.segments.numpy()
        # Same proposals in the same order while scores are meaningful. Below ~1e-6 the
        # products of saturated sigmoids underflow differently (2e-9 in PyTorch, 0 in
        # onnxruntime: |diff| << 1e-4), and the order among those near-zero ties is arbitrary.
        n = int((ref_scores > 1e-6).sum())
        assert n >= 5
        np.testing.assert_allclose(scores[:n], ref_scores[:n], rtol=1e-3, atol=1e-7)
        np.testing.assert_allclose(segments[:n], ref_segments[:n], atol=1e-9)
        assert len(scores) == len(ref_scores) and np.all(scores[n:] < 2e-6)


def test_tem_export_dynamic_length(tiny_models, tmp_path):
    tem = init_localizer(tiny_models['TEM']['config'], tiny_models['TEM']['checkpoint'])
    onnx_file = tmp_path / 'tem.onnx'
    _export(tem, onnx_file, batch=2)
    for shape in ((2, 16, 16), (3, 16, 40)):  # batch and time are dynamic (fully convolutional)
        x = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape)))
        diffs = tool.max_abs_diff(tem, str(onnx_file), x)
        assert list(diffs) == ['tem'] and diffs['tem'] <= ATOL


def test_pem_export_dynamic_proposals(tiny_models, tmp_path):
    pem = init_localizer(tiny_models['PEM']['config'], tiny_models['PEM']['checkpoint'])
    onnx_file = tmp_path / 'pem.onnx'
    _export(pem, onnx_file, proposals=50)
    for n in (50, 1, 333):
        x = tool.random_input(pem, num_proposals=n, seed=n)
        assert x.shape == (n, 32)
        assert tool.max_abs_diff(pem, str(onnx_file), x)['iou'] <= ATOL


def test_command_line_report(tiny_models, tmp_path, capsys):
    cfg = tiny_models['BMN']
    out = tmp_path / 'cli' / 'bmn.onnx'
    report = tool.main([cfg['config'], cfg['checkpoint'], '--out', str(out)])
    assert report['ok'] and report['model'] == 'BMN' and osp.isfile(out)
    assert max(report['max_abs_diff'].values()) <= ATOL
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report


def test_unsupported_model_is_refused():
    class SSN(torch.nn.Module):
        pass
    with pytest.raises(TypeError, match='SSN: ONNX export supports BMN, TEM and PEM'):
        tool.model_kind(SSN())
