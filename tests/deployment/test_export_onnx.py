"""ONNX export of BMN (fused and dense BM layer), TEM, PEM and AFSD: onnxruntime vs. PyTorch.

What is exported is stated by each model (``export_spec()``); the tool names no model class.

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


def test_relative_tolerance(tiny_models, tmp_path):
    cfg = tiny_models['TEM']
    out = tmp_path / 'tem.onnx'
    with pytest.raises(SystemExit):  # float noise exceeds atol = 0
        tool.main([cfg['config'], cfg['checkpoint'], '--out', str(out), '--atol', '0'])
    report = tool.main([cfg['config'], cfg['checkpoint'], '--out', str(out), '--atol', '0',
                        '--rtol', '1e-3'])
    assert report['ok'] and 0 < report['max_abs_diff']['tem'] <= ATOL


def test_unsupported_model_is_refused():
    class SSN(torch.nn.Module):
        pass
    # the supported models are those stating an export_spec (read from the registry)
    with pytest.raises(TypeError, match=r'SSN: ONNX export supports the models that state an '
                                        r'export_spec\(\) \(AFSD, BMN, PEM, TEM\); SSN has none'):
        tool.model_kind(SSN())


def test_specs_state_what_the_tool_used_to_hard_code(tiny_models):
    """The names / dynamic axes the tool had per model class now come from the models."""
    bmn, tem, pem = (init_localizer(tiny_models[k]['config']) for k in ('BMN', 'TEM', 'PEM'))
    spec = bmn.export_spec()
    assert spec.input_names == ('features', ) and spec.output_names == ('bm', 'start', 'end')
    assert spec.dynamic_axes == {'features': {0: 'batch'}, 'bm': {0: 'batch'},
                                 'start': {0: 'batch'}, 'end': {0: 'batch'}}
    assert spec.input_shapes(batch=3) == ((3, 16, 16), )
    spec = tem.export_spec()
    assert spec.output_names == ('tem', ) and spec.dynamic_axes == {
        'features': {0: 'batch', 2: 'time'}, 'tem': {0: 'batch', 2: 'time'}}
    assert spec.input_shapes(batch=2) == ((2, 16, 16), )
    spec = pem.export_spec()
    assert spec.input_names == ('bsp_feature', ) and spec.output_names == ('iou', )
    assert spec.dynamic_axes == {'bsp_feature': {0: 'proposals'}, 'iou': {0: 'proposals'}}
    assert spec.input_shapes(proposals=7) == ((7, 32), )
    # the example inputs are the seeded torch.rand the tool always used
    x = tool.random_input(bmn, 2, seed=4)
    assert torch.equal(x, torch.rand((2, 16, 16), generator=torch.Generator().manual_seed(4)))


# ----------------------------------------------------------------------------- AFSD
AFSD_DEMO = osp.join(REPO, 'configs/localization/afsd/afsd_synthetic_demo.py')
AFSD_FEATURES = osp.join(REPO, 'configs/localization/afsd/afsd_feature_thumos14.py')


@pytest.fixture(scope='module')
def afsd():
    """The synthetic-demo AFSD (TinyVideoBackbone, L = 32, 32 x 32 crops), seeded weights."""
    torch.manual_seed(0)
    return init_localizer(AFSD_DEMO)


def test_afsd_spec(afsd):
    spec = afsd.export_spec()
    assert spec.input_names == ('clip', )
    assert spec.inputs[0].shape == ('batch', 3, 32, 32, 32)
    assert (spec.inputs[0].low, spec.inputs[0].high) == (-1.0, 1.0)
    assert spec.output_names == ('loc', 'conf', 'prop_loc', 'prop_conf', 'center')
    assert torch.equal(spec.constants['priors'], afsd.net.priors)


def test_afsd_export_matches_pytorch(afsd, tmp_path):
    onnx_file = tmp_path / 'afsd.onnx'
    _export(afsd, onnx_file, batch=2)
    import onnx
    proto = onnx.load(str(onnx_file))
    onnx.checker.check_model(proto)
    props = {p.key: p.value for p in proto.metadata_props}
    np.testing.assert_array_equal(json.loads(props['priors']), afsd.net.priors.numpy())
    for batch, seed in ((2, 1), (1, 2), (3, 3)):  # dynamic batch axis
        x = tool.random_input(afsd, batch, seed=seed)
        assert x.shape == (batch, 3, 32, 32, 32) and x.min() >= -1 and x.max() < 1
        diffs = tool.max_abs_diff(afsd, str(onnx_file), x)
        assert set(diffs) == {'loc', 'conf', 'prop_loc', 'prop_conf', 'center'}
        assert max(diffs.values()) <= ATOL, diffs


def test_afsd_detections_from_onnx_outputs_equal_predict(afsd, tmp_path):
    """Python decoding + Soft-NMS on the onnxruntime outputs of a one-window video give
    AFSD.predict_video's detections."""
    from mmloc.models.afsd.inference import (collect_detections, decode_window,
                                             merge_video_detections)
    onnx_file = tmp_path / 'afsd.onnx'
    _export(afsd, onnx_file, batch=1)
    gen = torch.Generator().manual_seed(7)
    video = torch.randint(0, 256, (3, 32, 32, 32), generator=gen, dtype=torch.uint8)
    video[:, 8:20] = 240
    with torch.no_grad():
        ref = afsd.predict_video(video, dict(sample_fps=10.0))
    clip = (video.float() / 255.0 * 2.0 - 1.0)[None]
    out = tool.onnxruntime_outputs(str(onnx_file), clip.numpy())
    cfg = afsd.test_cfg
    segs, scores = decode_window(*(torch.from_numpy(out[k][0]) for k in (
        'loc', 'conf', 'prop_loc', 'prop_conf', 'center')), afsd.net.priors, afsd.clip_length)
    from mmloc.structures import TimeGrid
    grid = TimeGrid.from_fps(10.0, num_frames=video.shape[1]).cropped(0, afsd.clip_length)
    window = collect_detections(segs.numpy(), scores.numpy(), grid, cfg['conf_thresh'])
    got = merge_video_detections([window], afsd.num_classes, cfg['nms_sigma'], cfg['top_k'],
                                 cfg['score_threshold'])
    assert len(ref[0]) > 10 and len(got[0]) == len(ref[0])
    np.testing.assert_allclose(got[1], ref[1], atol=1e-5)
    np.testing.assert_allclose(got[0], ref[0], atol=1e-4)
    np.testing.assert_array_equal(got[2], ref[2])


def test_afsd_feature_variant_exports(tmp_path):
    torch.manual_seed(1)
    model = init_localizer(AFSD_FEATURES, cfg_options={
        'model.net.feature_channels': 24, 'model.net.width': 16, 'model.net.num_levels': 4,
        'model.net.gn_groups': 4, 'model.net.clip_length': 64})
    spec = model.export_spec()
    assert spec.input_names == ('features', ) and spec.inputs[0].shape == ('batch', 24, 16)
    onnx_file = tmp_path / 'afsd_feat.onnx'
    _export(model, onnx_file, batch=2)
    for batch in (1, 3):
        diffs = tool.max_abs_diff(model, str(onnx_file), tool.random_input(model, batch, seed=9))
        assert max(diffs.values()) <= ATOL, diffs


def test_afsd_command_line(tmp_path):
    out = tmp_path / 'cli' / 'afsd.onnx'
    report = tool.main([AFSD_DEMO, '--out', str(out), '--batch-size', '2'])
    assert report['ok'] and report['model'] == 'AFSD' and osp.isfile(out)
    assert set(report['max_abs_diff']) == {'loc', 'conf', 'prop_loc', 'prop_conf', 'center'}
