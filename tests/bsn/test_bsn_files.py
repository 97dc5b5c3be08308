"""BSN file formats, LoadProposals, DumpTEMResults (ex TEMMetric), the PGM driver and its CLI
errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bsn_loop_reference import loop_bsp_feature, loop_candidate_proposals, random_tem

from mmloc.apis.bsn_pgm_runner import run_pgm, run_pgm_from_config
from mmloc.datasets.transforms.proposal_loading import (LoadProposals, read_bsp_feature,
                                                        read_proposals, read_tem_results,
                                                        write_bsp_feature, write_proposals,
                                                        write_tem_results)
from mmloc.evaluation.metrics import DumpTEMResults, TEMMetric
from mmloc.registry import METRICS
from mmloc.structures import LocalizationDataSample

REPO = Path(__file__).resolve().parents[2]
PROPOSAL_HEADER = 'tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa'


def test_load_proposals_golden(shared_data):
    d = shared_data / 'mmaction2-testdata'
    out = LoadProposals(5, str(d / 'proposals'), str(d / 'bsp_features'))(
        dict(video_name='v_test1'))
    np.testing.assert_allclose(out['tmin'], [0.1, 0.2, 0.3, 0.4, 0.5], rtol=1e-6)
    np.testing.assert_allclose(out['tmax'], [0.2, 0.3, 0.4, 0.5, 0.6], rtol=1e-6)
    np.testing.assert_allclose(out['tmin_score'], [0.95, 0.94, 0.93, 0.92, 0.91], rtol=1e-6)
    np.testing.assert_allclose(out['reference_temporal_iou'], [0.85, 0.84, 0.83, 0.82, 0.81],
                               rtol=1e-6)
    assert out['bsp_feature'].shape == (5, 32) and out['bsp_feature'].dtype == np.float32
    np.testing.assert_allclose(out['bsp_feature'],
                               np.load(d / 'bsp_features' / 'v_test1.npy')[:5], rtol=1e-6)


def test_load_proposals_one_row_and_errors(tmp_path):
    props, feats = tmp_path / 'p', tmp_path / 'f'
    props.mkdir(), feats.mkdir()
    (props / 'v_a.csv').write_text(PROPOSAL_HEADER + '\n0.1,0.3,0.5,0.6,0.3,0.7,0.8\n')
    write_bsp_feature(str(feats / 'v_a.npy'), np.ones((1, 32)))
    out = LoadProposals(10, str(props), str(feats))(dict(video_name='v_a'))
    assert out['tmin'].shape == (1,) and out['tmax'][0] == pytest.approx(0.3)
    assert out['reference_temporal_iou'][0] == pytest.approx(0.7)
    # wrong columns: the error names the file
    (props / 'v_b.csv').write_text('tmin,tmax,score\n0.1,0.3,0.5\n')
    with pytest.raises(ValueError, match=r'v_b\.csv.*header'):
        LoadProposals(10, str(props), str(feats))(dict(video_name='v_b'))
    (props / 'v_c.csv').write_text(PROPOSAL_HEADER + '\n0.1,0.3,0.5,0.6,0.3\n')
    with pytest.raises(ValueError, match=r'v_c\.csv.*7'):
        LoadProposals(10, str(props), str(feats))(dict(video_name='v_c'))
    with pytest.raises(FileNotFoundError, match=r'v_missing\.csv'):
        LoadProposals(10, str(props), str(feats))(dict(video_name='v_missing'))
    # features with fewer rows than proposals
    write_proposals(str(props / 'v_d.csv'), np.tile([0.1, 0.3, 0.5, 0.6, 0.3, 0.7, 0.8], (4, 1)))
    write_bsp_feature(str(feats / 'v_d.npy'), np.ones((2, 32)))
    with pytest.raises(ValueError, match=r'v_d\.npy.*2 BSP feature rows but 4 proposals'):
        LoadProposals(10, str(props), str(feats))(dict(video_name='v_d'))
    with pytest.raises(NotImplementedError):
        LoadProposals(10, str(props), str(feats), proposal_ext='.json')


def test_formats_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tem = random_tem(rng, 20).astype(np.float64)
    write_tem_results(str(tmp_path / 'tem.csv'), tem)
    assert (tmp_path / 'tem.csv').read_text().splitlines()[0] == 'action,start,end,tmin,tmax'
    np.testing.assert_array_equal(read_tem_results(str(tmp_path / 'tem.csv')),
                                  tem.astype(np.float32))
    props = loop_candidate_proposals(tem, 20, 0.5, np.array([[0.2, 0.5]]))
    write_proposals(str(tmp_path / 'p.csv'), props)
    assert (tmp_path / 'p.csv').read_text().splitlines()[0] == PROPOSAL_HEADER
    np.testing.assert_array_equal(read_proposals(str(tmp_path / 'p.csv')),
                                  props.astype(np.float32))
    np.testing.assert_array_equal(read_proposals(str(tmp_path / 'p.csv'), max_rows=3),
                                  props[:3].astype(np.float32))
    write_bsp_feature(str(tmp_path / 'f.npy'), props[:, :5])
    back = read_bsp_feature(str(tmp_path / 'f.npy'))
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, props[:, :5])
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_tem_metric_writes_one_csv_per_video(tmp_path):
    metric = DumpTEMResults(out_dir=str(tmp_path / 'tem'))
    rng = np.random.default_rng(1)
    preds = {}
    samples = []
    for name in ('v_a', 'v_b'):
        preds[name] = random_tem(rng, 10).astype(np.float64)
        s = LocalizationDataSample(metainfo=dict(video_name=name))
        s.pred_tem = preds[name]
        samples.append(s.to_dict())
    metric.process({}, samples)
    assert metric.compute_metrics(metric.results) == {}
    for name, pred in preds.items():
        np.testing.assert_allclose(read_tem_results(str(tmp_path / 'tem' / f'{name}.csv')), pred,
                                   rtol=1e-7)


def test_tem_metric_is_a_deprecated_alias_of_dump_tem_results(tmp_path):
    """MMAction2 configs name ``TEMMetric``: it still builds, warns, and writes the same files."""
    with pytest.warns(FutureWarning, match='DumpTEMResults'):
        metric = METRICS.build(dict(type='TEMMetric', out_dir=str(tmp_path / 'tem')))
    assert isinstance(metric, TEMMetric) and isinstance(metric, DumpTEMResults)
    s = LocalizationDataSample(metainfo=dict(video_name='v_a'))
    s.pred_tem = random_tem(np.random.default_rng(2), 10).astype(np.float64)
    metric.process({}, [s.to_dict()])
    assert metric.compute_metrics(metric.results) == {}
    np.testing.assert_allclose(read_tem_results(str(tmp_path / 'tem' / 'v_a.csv')), s.pred_tem,
                               rtol=1e-7)
    with pytest.raises(ValueError, match='TEMMetric: out_dir'), pytest.warns(FutureWarning):
        TEMMetric(out_dir='')


def _write_split(tmp_path, rng, names, length=40):
    tem_dir = tmp_path / 'tem'
    tem_dir.mkdir(exist_ok=True)
    ann, tems = {}, {}
    for name in names:
        tems[name] = random_tem(rng, length)
        write_tem_results(str(tem_dir / f'{name}.csv'), tems[name])
        ann[name] = dict(duration_second=50.0, duration_frame=1500, feature_frame=1440,
                         annotations=[dict(segment=[10.0, 22.0], label='a')], fps=30, rfps=30)
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    return tems


@pytest.mark.parametrize('workers', [1, 2])
def test_run_pgm_matches_loop_reference(tmp_path, workers):
    rng = np.random.default_rng(5)
    tems = _write_split(tmp_path, rng, ['v_a', 'v_b', 'v_c'])
    feat_cfg = dict(top_k=50, bsp_boundary_ratio=0.2, num_sample_start=8, num_sample_end=8,
                    num_sample_action=16, num_sample_interp=3, pgm_features_thread=4)
    args = (str(tmp_path / 'ann.json'), str(tmp_path / 'tem'), str(tmp_path / 'props'),
            str(tmp_path / 'feats'), dict(temporal_scale=40, peak_threshold=0.5), feat_cfg)
    summary = run_pgm(*args, workers=workers, progress=workers == 2)
    assert summary['written'] == 3 and summary['skipped'] == 0
    cs = 1440 / 1500 * 50.
    for name, tem in tems.items():
        tem32 = read_tem_results(str(tmp_path / 'tem' / f'{name}.csv'))
        ref = loop_candidate_proposals(tem32, 40, 0.5, np.array([[10 / cs, 22 / cs]]))
        got = np.loadtxt(tmp_path / 'props' / f'{name}.csv', delimiter=',', skiprows=1)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)
        bsp = read_bsp_feature(str(tmp_path / 'feats' / f'{name}.npy'))
        ref_bsp = loop_bsp_feature(tem32, ref[:50, :2].astype(np.float32))
        assert bsp.shape == (min(50, len(ref)), 32)
        np.testing.assert_allclose(bsp, ref_bsp, rtol=0, atol=1e-12)
    # rerun: skipped; --overwrite: rewritten
    assert run_pgm(*args, workers=workers, progress=False)['skipped'] == 3
    assert run_pgm(*args, workers=workers, overwrite=True, progress=False)['written'] == 3


def test_run_pgm_errors_name_the_files(tmp_path):
    rng = np.random.default_rng(6)
    _write_split(tmp_path, rng, ['v_a', 'v_b'])
    (tmp_path / 'tem' / 'v_b.csv').unlink()
    cfg = dict(ann_file_val=str(tmp_path / 'ann.json'), tem_results_dir=str(tmp_path / 'tem'),
               pgm_proposals_dir=str(tmp_path / 'p'), pgm_features_dir=str(tmp_path / 'f'),
               pgm_proposals_cfg=dict(temporal_scale=40, peak_threshold=0.5),
               pgm_features_test_cfg=dict(top_k=10))
    with pytest.raises(FileNotFoundError, match=r'1 of 2 TEM result files.*v_b\.csv.*TEM test'):
        run_pgm_from_config(cfg, 'test', workers=1, progress=False)
    cfg['tem_results_dir'] = str(tmp_path / 'no_tem_yet')
    with pytest.raises(FileNotFoundError, match=r'no_tem_yet.*does not exist.*TEM test first'):
        run_pgm_from_config(cfg, 'test', workers=1, progress=False)
    with pytest.raises(KeyError, match='ann_file_train'):
        run_pgm_from_config(cfg, 'train', workers=1, progress=False)
    # a TEM file with wrong columns
    cfg['tem_results_dir'] = str(tmp_path / 'tem')
    (tmp_path / 'tem' / 'v_b.csv').write_text('action,start\n0.1,0.2\n0.3,0.4\n')
    with pytest.raises(ValueError, match=r'v_b\.csv.*header'):
        run_pgm_from_config(cfg, 'test', workers=1, progress=False)


@pytest.mark.slow  # a fresh interpreter importing torch + mmengine: ~15 s on 2 busy cores
def test_cli_pgm_before_tem(tmp_path):
    cfg = tmp_path / 'pgm.py'
    (tmp_path / 'ann.json').write_text(json.dumps({'v_a': dict(
        duration_second=10., duration_frame=300, feature_frame=288, annotations=[])}))
    cfg.write_text(f"ann_file_train = {str(tmp_path / 'ann.json')!r}\n"
                   f"tem_results_dir = {str(tmp_path / 'tem')!r}\n"
                   f"pgm_proposals_dir = {str(tmp_path / 'p')!r}\n"
                   f"pgm_features_dir = {str(tmp_path / 'f')!r}\n"
                   "pgm_proposals_cfg = dict(temporal_scale=100, peak_threshold=0.5)\n"
                   "pgm_features_train_cfg = dict(top_k=500)\n")
    proc = subprocess.run([sys.executable, str(REPO / 'tools/misc/bsn_proposal_generation.py'),
                           str(cfg), '--mode', 'train', '--workers', '1'],
                          capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert 'TEM results directory does not exist' in proc.stderr
    assert str(tmp_path / 'tem') in proc.stderr
