"""Golden values of actionformer-spec §9 (produced by the upstream functions), except the
NMS cases (§9.6), which tests/models/test_nms.py checks on the shared NMS module."""
import numpy as np
import pytest
import torch

from mmloc.models.actionformer import (PointGenerator, assign_points, decode_level,
                                       downsample_mask, sgp_expanded_kernel, trident_offsets)
from mmloc.models.actionformer.heads import EMPTY_CLASS_BIAS, prior_bias
from mmloc.models.losses.actionformer_loss import (LossNormalizer, diou_loss_1d, iou_loss_1d,
                                                   sigmoid_focal_loss, smooth_targets)


def _points():
    gen = PointGenerator(16, [1, 2], [(0, 4), (4, 10000)])
    return torch.cat(gen([16, 8]))


def test_points_9_1():
    pts = _points()
    np.testing.assert_array_equal(pts[:16], [[t, 0, 4, 1] for t in range(16)])
    np.testing.assert_array_equal(pts[16:], [[t, 4, 10000, 2] for t in range(0, 16, 2)])


GT = torch.tensor([[1, 6], [3, 14], [3, 14.0005]], dtype=torch.float32)
LABELS = torch.tensor([0, 1, 2])


def _positives(cls, reg):
    pos = torch.nonzero(cls.sum(1) > 0).squeeze(1).tolist()
    return {k: (cls[k].tolist(), reg[k].tolist()) for k in pos}


def test_assignment_centre_sampling_9_2():
    cls, reg = assign_points(_points(), GT, LABELS, 3, 'radius', 1.5)
    got = _positives(cls, reg)
    want = {3: ([1, 0, 0], (2, 3)), 4: ([1, 0, 0], (3, 2)), 17: ([1, 0, 0], (0.5, 2)),
            19: ([0, 1, 1], (1.5, 4)), 20: ([0, 1, 1], (2.5, 3)), 21: ([0, 1, 1], (3.5, 2))}
    assert sorted(got) == sorted(want)
    for k, (c, r) in want.items():
        assert got[k][0] == c
        np.testing.assert_allclose(got[k][1], r, atol=1e-6)


def test_assignment_no_centre_sampling_9_2():
    cls, reg = assign_points(_points(), GT, LABELS, 3, 'none')
    got = _positives(cls, reg)
    assert sorted(got) == [2, 3, 4, 5, 17, 18, 19, 20, 21, 22, 23]
    assert got[2] == ([1, 0, 0], [1, 4]) and got[5] == ([1, 0, 0], [4, 1])
    assert got[18][0] == [0, 1, 1] and got[22][0] == [0, 1, 1]
    np.testing.assert_allclose(got[18][1], [0.5, 5]) and np.testing.assert_allclose(
        got[22][1], [4.5, 1])
    assert got[23][0] == [0, 0, 1]
    np.testing.assert_allclose(got[23][1], [5.5, 0.00024986], rtol=1e-4)


def test_assignment_no_gt_is_all_negative():
    cls, reg = assign_points(_points(), torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), 3)
    assert cls.shape == (24, 3) and not cls.any() and reg.shape == (24, 2)


def test_focal_loss_9_3():
    logits = torch.tensor([[-2.0, 0.5], [1.0, -0.3]])
    y = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    got = sigmoid_focal_loss(logits, y)
    np.testing.assert_allclose(got, [[0.00135267, 0.01689337], [0.00566451, 0.07529496]],
                               rtol=1e-5)
    assert got.sum().item() == pytest.approx(0.09920551, rel=1e-5)
    smoothed = smooth_targets(y, 0.1)
    np.testing.assert_allclose(smoothed, [[1 / 30, 0.9 + 1 / 30], [0.9 + 1 / 30, 1 / 30]],
                               rtol=1e-6)
    np.testing.assert_allclose(sigmoid_focal_loss(logits, smoothed),
                               [[0.00296803, 0.02230281], [0.00967198, 0.07670812]], rtol=1e-5)


def test_iou_losses_9_4():
    pred = torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])
    gt = torch.tensor([[2.0, 2.0], [1.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(diou_loss_1d(pred, gt), [0.265625, 0.5625, 0.8125], rtol=1e-6)
    np.testing.assert_allclose(iou_loss_1d(pred, gt), [0.25, 0.5, 0.75], rtol=1e-6)
    with pytest.raises(ValueError, match='non-negative'):
        diou_loss_1d(-pred, gt)


def test_loss_normaliser_9_5():
    norm = LossNormalizer(100)
    assert norm.update(25 + 14) == pytest.approx(93.9)
    assert LossNormalizer(100).update(0) == pytest.approx(90.1)     # max(N_pos, 1)


def test_mask_downsampling_9_8():
    mask = (torch.arange(10) < 7)[None, None]
    assert downsample_mask(mask, 2)[0, 0].tolist() == [True] * 4 + [False]


def test_trident_decoding_9_9():
    nb, stride = 2, 2
    cls = torch.tensor([[0.0], [1.0], [2.0], [-1.0]])
    bins = torch.tensor([[0.5, 0, 1, 0, 0, 0]] * 4)
    start = torch.tensor([1.0, 0, -1, 2])[None, :, None]
    end = torch.tensor([0.0, 0.5, 1, -0.5])[None, :, None]
    off = trident_offsets(start, end, bins[None], nb)[0]          # (T, K, 2)
    np.testing.assert_allclose(off[0, 0], [0.428127, 1.320157], rtol=1e-5)
    # the spec's case puts location t at coordinate t and scales offsets by the stride 2
    points = torch.tensor([[t, 0, 1e4, stride] for t in range(4)], dtype=torch.float32)
    segs, scores, labels = decode_level(cls, off, torch.ones(4, dtype=torch.bool), points,
                                        pre_nms_thresh=0.0, duration_thresh=0.0)
    np.testing.assert_allclose(segs, [[-1.074315, 3.205384], [-0.698090, 2.580905],
                                      [-0.856254, 2.640313], [2.668329, 5.301910]], atol=2e-6)
    np.testing.assert_allclose(scores, [0.880797, 0.731059, 0.5, 0.268941], atol=1e-6)
    assert labels.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize('k, ksgp, up', [(1, 5, 11), (1, 1.5, 3), (3, 1.5, 7), (15, 1.3, 21),
                                         (1, 1.3, 3), (5, 2, 13), (1, 4, 9), (3, 1.2, 5),
                                         (1, 1.2, 3)])
def test_sgp_kernel_9_12(k, ksgp, up):
    assert sgp_expanded_kernel(k, ksgp) == up


def test_prior_biases():
    assert prior_bias(0.01) == pytest.approx(-4.59512, abs=1e-5)
    assert EMPTY_CLASS_BIAS == pytest.approx(-13.8155, abs=1e-4)


def test_lr_schedule_9_10():
    from mmengine.optim.scheduler import CosineAnnealingLR

    from mmloc.engine.schedulers import LinearWarmupLR
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=1e-3)
    warm = LinearWarmupLR(opt, begin=0, end=3)
    cos = CosineAnnealingLR(opt, begin=3, end=9, T_max=5, eta_min=1e-8, by_epoch=False)
    lrs = []
    for _ in range(9):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        warm.step()
        cos.step()
    np.testing.assert_allclose(lrs, [0, 5e-4, 1e-3, 1e-3, 9.0451e-4, 6.5451e-4, 3.4550e-4,
                                     9.5501e-5, 1e-8], rtol=1e-4, atol=1e-12)


def test_external_fusion_9_11(tmp_path):
    from mmloc.evaluation.formats import read_classifier_results
    from mmloc.evaluation.metrics.detection_metric import proposals_to_detections
    import json
    f = tmp_path / 'cls.json'
    f.write_text(json.dumps({'results': {'a': [0.1, 0.6, 0.3], 'b': [0.7, 0.2, 0.1]}}))
    props = {'a': dict(segments=np.array([[1., 2], [2, 3], [3, 4]]), scores=np.array([.5, .9, .2])),
             'b': dict(segments=np.array([[4., 5]]), scores=np.array([.4]))}
    out = proposals_to_detections(props, read_classifier_results(str(f)), top_k_classes=2,
                                  score_fusion='sqrt', num_pred=2)
    np.testing.assert_array_equal(out['a']['segments'], [[2, 3], [1, 2], [2, 3], [1, 2]])
    assert out['a']['labels'] == [1, 1, 2, 2]
    np.testing.assert_allclose(out['a']['scores'], [0.734847, 0.547723, 0.519615, 0.387298],
                               atol=1e-6)
    assert out['b']['labels'] == [0, 1]
    np.testing.assert_allclose(out['b']['scores'], [0.529150, 0.282843], atol=1e-6)
