"""AFSD Soft-NMS golden values (spec §8.2g), decoding, collection and window merging."""
import numpy as np
import pytest
import torch

from mmloc.models.afsd.inference import (average_raw_outputs, collect_detections,
                                         decode_window, merge_video_detections)
from mmloc.models.post_processing.nms import afsd_soft_nms
from mmloc.structures import TimeGrid


def test_soft_nms_golden():
    dets = np.array([[0, 10, .9], [1, 11, .8], [20, 30, .7]])
    np.testing.assert_allclose(afsd_soft_nms(dets), [[0, 10, .9], [20, 30, .7]])
    dets4 = np.concatenate([dets, [[25, 35, .6]]])
    out = afsd_soft_nms(dets4)
    np.testing.assert_allclose(out[:, :2], [[0, 10], [20, 30], [25, 35]])
    assert out[2, 2] == pytest.approx(0.6 * np.exp(-(1 / 3) ** 2 / 0.5), abs=1e-12)
    assert out[2, 2] == pytest.approx(0.4804, abs=1e-4)
    assert afsd_soft_nms(np.array([[0, 1, .5]])).shape == (0, 3)


def test_soft_nms_keeps_input_order_and_top_k():
    dets = np.array([[50, 60, .3], [0, 10, .9], [100, 110, .5], [200, 210, .4]])
    out = afsd_soft_nms(dets)
    # picked .9, .5, .4; then .3 is the last live candidate and is dropped
    np.testing.assert_allclose(out[:, 2], [.9, .5, .4])
    out2 = afsd_soft_nms(dets, top_k=2)
    np.testing.assert_allclose(out2[:, 2], [.9, .5])


def test_decode_window_by_hand():
    priors = torch.tensor([0.25, 0.75])
    loc = torch.tensor([[2., 4.], [10., 30.]])
    prop_loc = torch.tensor([[0.5, -0.5], [0., 0.]])
    conf = torch.tensor([[0., 0., 0.], [0., 0., 0.]])
    prop_conf = torch.tensor([[0., 0., 0.], [0., 0., 0.]])
    center = torch.tensor([[0.], [0.]])
    segs, scores = decode_window(loc, conf, prop_loc, prop_conf, center, priors, 32)
    # window 0: centre 8, w = 6 -> l = 2 + 1.5, r = 4 - 1.5; window 1 clamped at 32
    np.testing.assert_allclose(segs.numpy(), [[4.5, 10.5], [14, 32]])
    np.testing.assert_allclose(scores.numpy(), np.full((2, 3), 1 / 6), rtol=1e-6)


def test_fusion_averages_raw_outputs():
    a = {k: torch.full((1, 2), 1.0) for k in ('loc', 'conf', 'prop_loc', 'prop_conf', 'center')}
    b = {k: torch.full((1, 2), 3.0) for k in a}
    a['priors'] = torch.tensor([0.5])
    fused = average_raw_outputs(a, b)
    assert all(fused[k].eq(2.0).all() for k in b) and fused['priors'] is a['priors']


def test_collect_detections_seconds_and_threshold():
    segs = np.array([[0., 10.], [5., 20.]])
    scores = np.array([[0.9, 0.005, 0.05], [0.1, 0.5, 0.011]])
    window = TimeGrid.from_fps(10.0, num_frames=512).cropped(128, 256)  # frames 128 .. 383
    s, sc, lab = collect_detections(segs, scores, window, conf_thresh=0.01)
    order = np.lexsort((lab, sc))
    np.testing.assert_allclose(sorted(sc), [0.011, 0.05, 0.5])
    got = {(round(a, 6), round(b, 6), int(label)) for (a, b), label in zip(s, lab)}
    assert got == {(12.8, 13.8, 2), (13.3, 14.8, 1), (13.3, 14.8, 2)}
    assert len(order) == 3


def test_segment_split_across_two_windows_comes_back_once():
    # Windows at offsets 0 and 128 frames (L = 256) both see an action at 150-200 frames,
    # i.e. 15-20 s; the second sees it slightly shifted. It must come back once per class.
    w0 = (np.array([[15.0, 20.0], [2.0, 5.0]]), np.array([0.8, 0.6]), np.array([3, 1]))
    w1 = (np.array([[15.1, 20.1], [40.0, 45.0]]), np.array([0.7, 0.5]), np.array([3, 3]))
    segs, scores, labels = merge_video_detections([w0, w1], num_classes=4)
    # class 3: 15-20 (0.8) kept; 15.1-20.1 decays to 0.7·exp(-IoU²/0.5) (IoU = 4.9/5.1) and is
    # the last live one besides 40-45, which is kept; the decayed copy is dropped as the last.
    cls3 = segs[labels == 3]
    assert len(cls3) == 2
    np.testing.assert_allclose(cls3[np.argsort(cls3[:, 0])], [[15, 20], [40, 45]])
    # class 1 has a single candidate: AFSD's Soft-NMS outputs nothing for it
    assert (labels == 1).sum() == 0
    assert np.all(np.diff(scores) <= 0)


def test_late_fusion_of_results_files():
    from mmloc.models.afsd.inference import fuse_detection_results
    rgb = {'v1': dict(segments=np.array([[1., 5.], [20., 30.]]), scores=np.array([.8, .6]),
                      labels=['A', 'A'])}
    flow = {'v1': dict(segments=np.array([[1., 5.], [50., 60.]]), scores=np.array([.6, .4]),
                       labels=['A', 'B']),
            'v2': dict(segments=np.zeros((0, 2)), scores=np.zeros(0), labels=[])}
    fused = fuse_detection_results(rgb, flow)
    # class A: [1,5] .4 (rgb) kills its flow twin [1,5] .3 (IoU 1 -> .3·e^-2 = .0406, then the
    # last live one is dropped after [20,30] .3 is kept); class B: single candidate -> dropped
    np.testing.assert_allclose(fused['v1']['segments'], [[1, 5], [20, 30]])
    np.testing.assert_allclose(fused['v1']['scores'], [.4, .3])
    assert fused['v1']['labels'] == ['A', 'A'] and len(fused['v2']['scores']) == 0
