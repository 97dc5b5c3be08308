"""Data side of ActionFormer / TriDet: the time grid (spec §9.7), the training crop (§1.4),
the ANet GT filter, inference padding (§1.6), the official JSON layout."""
import json
import random

import numpy as np
import pytest
import torch

from mmloc.datasets.collate import padded_length
from mmloc.datasets.transforms import (ClipSegmentsToFeature, ResizeFeature, SegmentsToGrid,
                                       TruncateFeature)
from mmloc.structures import TimeGrid


def _grid_segments(grid, segments_s):
    res = dict(time_grid=grid, annotations=[dict(segment=s, label_id=0) for s in segments_s])
    return SegmentsToGrid(unit='index', clip=False).transform(res)['gt_segments']


def test_thumos_time_grid_9_7():
    grid = TimeGrid.from_features(500, fps=30, feat_stride=4, feat_num_frames=16,
                                  duration_s=60.0)
    np.testing.assert_allclose(_grid_segments(grid, [[10, 12.5], [0, 1]]),
                               [[73, 91.75], [-2, 5.5]])
    assert grid.index_to_seconds(73.0) == pytest.approx(10.0)


def test_anet_resize_time_grid_9_7():
    feat = np.random.default_rng(0).normal(size=(8, 112)).astype(np.float32)
    res = dict(raw_feature=feat, time_grid=TimeGrid.from_features(112, 15, 16, 16, 120.0))
    res = ResizeFeature(192, method='linear').transform(res)
    grid = res['time_grid']
    assert res['raw_feature'].shape == (8, 192)
    assert grid.stride_frames == pytest.approx((111 * 16 + 16) / 192)
    assert grid.offset_frames / grid.stride_frames == pytest.approx(0.5)
    np.testing.assert_allclose(_grid_segments(grid, [[30, 60], [100, 110]]),
                               [[47.714287, 95.928574], [160.21429, 176.28572]], rtol=1e-6)


def test_anet_no_resize_time_grid_9_7():
    grid = TimeGrid.from_features(112, 15, 16, 16, 120.0)
    np.testing.assert_allclose(_grid_segments(grid, [[30, 60], [100, 110]]),
                               [[27.625, 55.75], [93.25, 102.625]])


def _crop_input(T=100, segs=((10, 20), (50, 90))):
    return dict(raw_feature=np.arange(T, dtype=np.float32)[None].repeat(2, 0),
                gt_segments=np.asarray(segs, np.float32), gt_labels=np.arange(len(segs)),
                time_grid=TimeGrid.from_features(T, 30, 4, 16, 100.0))


def test_truncate_long_video_keeps_gt_and_grid():
    random.seed(0)
    t = TruncateFeature(max_length=40, trunc_thresh=0.5)
    for _ in range(20):
        res = t.transform(_crop_input())
        feat, segs = res['raw_feature'], res['gt_segments']
        st = int(feat[0, 0])
        assert feat.shape == (2, 40)
        # grid follows: window position 0 is original position st
        assert res['time_grid'].index_to_seconds(0.0) == pytest.approx(
            TimeGrid.from_features(100, 30, 4, 16).index_to_seconds(float(st)))
        assert len(segs) >= 1
        # widened window: [-off, L + off] with off = 2
        assert (segs[:, 0] >= -2).all() and (segs[:, 1] <= 42).all()


def test_truncate_rules_loop_reference():
    """Same draws as a line-by-line rendering of spec §1.4 (AF widened / TD window)."""
    for clip, off in (('widened', 2.0), ('window', 0.0)):
        for seed in range(10):
            random.seed(seed)
            got = TruncateFeature(64, 0.5, crop_ratio=(0.9, 1.0), clip=clip).transform(
                _crop_input(T=60, segs=((1, 5), (20, 58))))
            random.seed(seed)
            T, kept = 60, None
            L = random.randint(max(round(0.9 * T), 1), min(round(1.0 * T), T))
            if L == T:
                assert got['raw_feature'].shape[1] == 60
                continue
            for _ in range(200):
                st = random.randint(0, T - L)
                ed = st + L
                kept = []
                for s, e in ((1, 5), (20, 58)):
                    left, right = max(st - off, s), min(ed + off, e)
                    if max(right - left, 0) / abs(e - s) >= 0.5:
                        kept.append([left - st, right - st])
                if kept:
                    break
            assert got['raw_feature'].shape[1] == L
            np.testing.assert_allclose(got['gt_segments'], np.asarray(kept).reshape(-1, 2))


def test_truncate_without_gt_is_noop():
    res = _crop_input(segs=np.zeros((0, 2)))
    out = TruncateFeature(40).transform(res)
    assert out['raw_feature'].shape == (2, 100)


def test_clip_segments_to_feature():
    res = dict(raw_feature=np.zeros((1, 20), np.float32),
               time_grid=TimeGrid.from_features(20, 15, 16, 16),          # off 0.5
               gt_segments=np.array([[2, 8], [21, 30], [18, 30], [19, 21]], np.float32),
               gt_labels=np.arange(4))
    out = ClipSegmentsToFeature(0.5).transform(res)
    np.testing.assert_allclose(out['gt_segments'], [[2, 8], [19, 20.5]])
    assert out['gt_labels'].tolist() == [0, 3]


def test_inference_padding_rule():
    assert padded_length(100, min_length=2304, pad_to_multiple=576) == 2304
    assert padded_length(2304, min_length=2304, pad_to_multiple=576) == 2304
    assert padded_length(2305, min_length=2304, pad_to_multiple=576) == 2880


def test_official_json_layout(tmp_path):
    """ActionFormer's THUMOS JSON: capitalised subsets, JSON fps, label_id; features .npy."""
    from mmloc.datasets import FeatureDataset
    db = {'v1': dict(subset='Validation', duration=20.0, fps=30.0, annotations=[
        dict(segment=[1.0, 3.0], label='B', label_id=1),
        dict(segment=[4.0, 6.0], label='A', label_id=0)]),
          'v2': dict(subset='Test', duration=10.0, fps=25.0, annotations=[])}
    (tmp_path / 'a.json').write_text(json.dumps(dict(database=db)))
    (tmp_path / 'f').mkdir()
    for vid, T in (('v1', 150), ('v2', 60)):
        np.save(tmp_path / 'f' / f'{vid}.npy', np.zeros((T, 4), np.float32))
    pipe = [dict(type='LoadLocalizationFeature'), dict(type='SegmentsToGrid', clip=False),
            dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
                 meta_keys=('video_name', 'time_grid', 'annotations'))]
    ds = FeatureDataset(str(tmp_path / 'a.json'), pipe, data_prefix=dict(feature=str(tmp_path / 'f')),
                        subset='validation', feat_stride=4, feat_num_frames=16, fit_mode=None)
    assert len(ds) == 1 and ds.metainfo['classes'] == ('A', 'B')
    item = ds[0]
    np.testing.assert_allclose(item['data_samples'].gt_instances.segments,
                               [[5.5, 20.5], [28, 43]])
    assert item['data_samples'].gt_instances.labels.tolist() == [1, 0]
    ds2 = FeatureDataset(str(tmp_path / 'a.json'), pipe, data_prefix=dict(feature=str(tmp_path / 'f')),
                         subset='test', fps=15, fps_overrides_file=True, fit_mode=None)
    assert ds2[0]['data_samples'].metainfo['time_grid'].fps == 15


def test_remove_duplicate_annotations_as_upstream():
    """spec §1.1: same label and both ends within 1e-3 s of a kept one -> dropped;
    ActionFormer also drops annotations shorter than 1e-3 s, TriDet keeps them."""
    from mmengine.dataset import Compose

    from mmloc.datasets.annotations import remove_duplicate_annotations
    anns = [dict(segment=[1.0, 5.0], label_id=0), dict(segment=[1.0005, 4.9991], label_id=0),
            dict(segment=[1.0, 5.0], label_id=1),            # same segment, other class
            dict(segment=[1.0, 5.002], label_id=0),          # end 2e-3 away: kept
            dict(segment=[7.0, 7.0005], label_id=2), dict(segment=[8.0, 8.0], label_id=2)]
    af = remove_duplicate_annotations(anns)
    assert [a['segment'] for a in af] == [[1.0, 5.0], [1.0, 5.0], [1.0, 5.002]]
    td = remove_duplicate_annotations(anns, min_length_s=None)
    assert len(td) == 5 and td[-1]['segment'] == [8.0, 8.0]
    td_eval = remove_duplicate_annotations(anns, min_length_s=None, drop_empty=True)
    assert td_eval == td[:-1]
    by_name = [dict(segment=[0.0, 2.0], label='a'), dict(segment=[0.0, 2.0], label='a')]
    assert len(remove_duplicate_annotations(by_name)) == 1
    out = Compose([dict(type='RemoveDuplicateAnnotations')])(dict(annotations=list(anns)))
    assert out['annotations'] == af


def test_detection_metric_cleans_gt_when_asked():
    from mmloc.evaluation.metrics.detection_metric import DetectionMetric
    anns = [dict(segment=[1.0, 3.0], label='a'), dict(segment=[1.0, 3.0005], label='a')]
    pred = dict(segments=np.array([[1.0, 3.0]]), scores=np.array([0.9]),
                labels=np.array([0]))
    maps = []
    for cleaning in (None, dict(tol_s=1e-3, min_length_s=1e-3)):
        metric = DetectionMetric(tiou_thresholds=[0.5], classes=['a'], gt_cleaning=cleaning)
        metric.process(None, [dict(video_name='v', annotations=anns, pred_instances=pred)])
        maps.append(metric.compute_metrics(metric.results)['mAP@0.50'])
    assert maps[0] == pytest.approx(0.5) and maps[1] == pytest.approx(1.0)
