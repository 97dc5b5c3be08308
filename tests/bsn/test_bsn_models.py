"""TEM / PEM networks, targets and losses: hand-computed values, loop references, checkpoints."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bsn_loop_reference import blr, loop_tem_targets
from mmengine.structures import InstanceData

from mmloc.models.localizers.bsn import PEM, TEM
from mmloc.models.losses.bsn_loss import pem_loss, pem_sample_weights, tem_loss
from mmloc.models.utils.boundary_targets import stack_tem_targets, tem_targets
from mmloc.models.utils.proposal_utils import post_processing
from mmloc.structures import LocalizationDataSample, output_duration_s

MMACTION2_TEM_SHAPES = {  # names and shapes of MMAction2's BSN TEM state_dict (C=400)
    'conv1.weight': (512, 400, 3), 'conv1.bias': (512,), 'conv2.weight': (512, 512, 3),
    'conv2.bias': (512,), 'conv3.weight': (3, 512, 1), 'conv3.bias': (3,)}
MMACTION2_PEM_SHAPES = {'fc1.weight': (256, 32), 'fc1.bias': (256,), 'fc2.weight': (1, 256),
                        'fc2.bias': (1,)}


def test_parameter_counts_and_names():
    tem, pem = TEM(), PEM()
    assert sum(p.numel() for p in tem.parameters()) == 1_403_395
    assert sum(p.numel() for p in pem.parameters()) == 8_705
    assert {k: tuple(v.shape) for k, v in tem.state_dict().items()} == MMACTION2_TEM_SHAPES
    assert {k: tuple(v.shape) for k, v in pem.state_dict().items()} == MMACTION2_PEM_SHAPES


def test_mmaction2_style_checkpoint_loads_strictly(tmp_path):
    from mmengine.runner import load_checkpoint
    for model, shapes in ((TEM(), MMACTION2_TEM_SHAPES), (PEM(), MMACTION2_PEM_SHAPES)):
        state = {k: torch.full(s, 0.25) for k, s in shapes.items()}
        path = tmp_path / f'{type(model).__name__}.pth'
        torch.save({'meta': {'epoch': 20}, 'state_dict': state}, path)
        load_checkpoint(model, str(path), map_location='cpu', strict=True)
        assert all(torch.all(v == 0.25) for v in model.state_dict().values())


def test_tem_forward_formula():
    torch.manual_seed(0)
    model = TEM(temporal_dim=6, tem_feat_dim=8, tem_hidden_dim=5)
    x = torch.randn(2, 8, 6)
    h = F.relu(F.conv1d(x, model.conv1.weight, model.conv1.bias, padding=1))
    h = F.relu(F.conv1d(h, model.conv2.weight, model.conv2.bias, padding=1))
    expected = torch.sigmoid(0.01 * F.conv1d(h, model.conv3.weight, model.conv3.bias))
    torch.testing.assert_close(model(list(x), mode='tensor'), expected)
    torch.testing.assert_close(model(x, mode='tensor'), expected)


def test_tem_targets_hand_computed():
    # T=4 anchors [0,.25],[.25,.5],[.5,.75],[.75,1]; GT [0.25, 0.6]: pad = max(0.25, 0.035)
    t = tem_targets(np.array([[0.25, 0.6]]), 4, 0.1)
    np.testing.assert_allclose(t[0], [0, 1, 0.4, 0])
    # start region [0.125, 0.375] covers half of anchors 0 and 1
    np.testing.assert_allclose(t[1], [0.5, 0.5, 0, 0])
    # end region [0.475, 0.725]: 0.025 of anchor 1 and 0.225 of anchor 2 (length 0.25)
    np.testing.assert_allclose(t[2], [0, 0.1, 0.9, 0])
    assert np.all(tem_targets(np.zeros((0, 2)), 4, 0.1) == 0)


@pytest.mark.parametrize('seed', range(5))
def test_tem_targets_match_loop_reference(seed):
    rng = np.random.default_rng(seed)
    gt = np.sort(rng.random((int(rng.integers(1, 5)), 2)), axis=1)
    np.testing.assert_allclose(tem_targets(gt, 30, 0.1), loop_tem_targets(gt, 30, 0.1),
                               atol=1e-12)


def test_tem_loss_hand_computed():
    pred = torch.tensor([[[0.9, 0.2, 0.6], [0.8, 0.1, 0.3], [0.3, 0.4, 0.7]]])
    target = torch.tensor([[[1., 0.2, 0.6], [0.7, 0.0, 0.0], [0.0, 0.5, 1.0]]])
    out = tem_loss(pred, target, 0.5, action_weight=2.0)
    # action: 2 positives of 3 -> r = clip(1.5) = 1.5, c1 = .75, c0 = 1.5
    action = -(0.75 * math.log(0.90001) + 1.5 * math.log(0.80001) + 0.75 * math.log(0.60001)) / 3
    assert out['loss_action'].item() == pytest.approx(2 * action, rel=1e-6)
    for key, c in (('loss_start', 1), ('loss_end', 2)):
        ref = blr(pred[0, c].tolist(), target[0, c].tolist())
        assert out[key].item() == pytest.approx(ref, rel=1e-6)


def _tem_sample(gt):
    s = LocalizationDataSample(metainfo=dict(video_name='v_x'))
    s.gt_instances = InstanceData(segments=torch.tensor(gt, dtype=torch.float64))
    return s


def test_tem_loss_mode_and_predict_batch():
    torch.manual_seed(0)
    model = TEM(temporal_dim=10, tem_feat_dim=8, tem_hidden_dim=4)
    x = [torch.randn(8, 10) for _ in range(2)]
    samples = [_tem_sample([[0.1, 0.5]]), _tem_sample([[0.3, 0.4], [0.6, 0.9]])]
    losses = model(x, samples, mode='loss')
    out = model(x, mode='tensor')
    target = stack_tem_targets([s.gt_instances.segments for s in samples], 10, 0.1)
    for key, value in tem_loss(out, target).items():
        torch.testing.assert_close(losses[key], value)
    preds = model(x, [_tem_sample([]), _tem_sample([])], mode='predict')
    for b, s in enumerate(preds):
        assert s.pred_tem.shape == (10, 5)
        np.testing.assert_allclose(s.pred_tem[:, :3], out[b].T.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(s.pred_tem[:, 3], np.arange(10) / 10)
        np.testing.assert_allclose(s.pred_tem[:, 4], np.arange(1, 11) / 10)


def test_pem_loss_parity_is_plain_mean():
    pred = torch.tensor([0.5, 0.9, 0.1, 0.3])
    ref = torch.tensor([0.8, 0.3, 0.1, 0.35])
    # smooth L1 (beta 1): 0.5 d^2 for d = -.3, .6, 0, -.05
    expected = (0.045 + 0.18 + 0 + 0.00125) / 4
    assert pem_loss(pred, ref).item() == pytest.approx(expected, rel=1e-6)
    # no proposal above 0.6: MMAction2 gives NaN, we give the plain mean
    assert pem_loss(pred, ref * 0.5).item() == pytest.approx(
        F.smooth_l1_loss(pred, ref * 0.5).item())


def test_pem_loss_draws_like_mmaction2():
    ref = torch.tensor([0.8, 0.3, 0.4, 0.1, 0.05, 0.5])
    torch.manual_seed(3)
    pem_loss(torch.full((6,), 0.5), ref)
    after = torch.rand(1)
    torch.manual_seed(3)
    torch.rand(6), torch.rand(6)
    assert torch.equal(after, torch.rand(1))


def test_pem_weighted_loss_by_hand():
    pred = torch.tensor([0.5, 0.9, 0.1, 0.3, 0.2, 0.6])
    ref = torch.tensor([0.8, 0.3, 0.4, 0.1, 0.05, 0.5])
    gen = torch.Generator().manual_seed(11)
    draw_m, draw_l = torch.rand(6, generator=gen), torch.rand(6, generator=gen)
    # 1 high, 3 mid (.3,.4,.5), 2 low: r_m = 1/3, r_l = min(2/2, 1) = 1
    mid = torch.tensor([0., 1, 1, 0, 0, 1])
    low = torch.tensor([0., 0, 0, 1, 1, 0])
    w = torch.tensor([1., 0, 0, 0, 0, 0]) + (draw_m * mid > 1 - 1 / 3).float() \
        + (draw_l * low > 0).float()
    per = F.smooth_l1_loss(pred, ref, reduction='none')
    expected = (per * w).sum() / w.sum()
    got = pem_loss(pred, ref, weighted=True, generator=torch.Generator().manual_seed(11))
    torch.testing.assert_close(got, expected)
    weights = pem_sample_weights(ref, generator=torch.Generator().manual_seed(11))
    torch.testing.assert_close(weights, w)
    assert set(weights.tolist()) <= {0., 1.}


def _pem_sample(rng, k, name, duration_frame=1000):
    s = LocalizationDataSample(metainfo=dict(video_name=name, duration_second=100.,
                                             duration_frame=duration_frame))
    tmin = np.sort(rng.random(k)).astype(np.float32) * 0.5
    s.proposals = InstanceData(
        tmin=torch.from_numpy(tmin), tmax=torch.from_numpy(tmin + 0.3),
        tmin_score=torch.rand(k), tmax_score=torch.rand(k),
        features=torch.rand(k, 32), reference_temporal_iou=torch.rand(k))
    return s


def test_pem_forward_loss_and_batched_predict():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = PEM(post_process_top_k=5)
    samples = [_pem_sample(rng, 12, 'v_a'), _pem_sample(rng, 7, 'v_b', duration_frame=1007)]
    x = torch.cat([s.proposals.features for s in samples])
    expected = torch.sigmoid(0.1 * model.fc2(F.relu(0.1 * model.fc1(x))))
    torch.testing.assert_close(model([torch.tensor(0.)] * 2, samples, mode='tensor'), expected)
    loss = model([torch.tensor(0.)] * 2, samples, mode='loss')['temporal_iou_loss']
    ref = torch.cat([s.proposals.reference_temporal_iou for s in samples])
    torch.testing.assert_close(loss, F.smooth_l1_loss(expected.view(-1), ref))
    preds = model([torch.tensor(0.)] * 2, samples, mode='predict')
    offset = 0
    for s in preds:
        g = s.proposals
        k = len(g.tmin)
        p = expected.view(-1)[offset:offset + k].detach().numpy()
        offset += k
        rows = np.stack([g.tmin.numpy(), g.tmax.numpy(), g.tmin_score.numpy(),
                         g.tmax_score.numpy(), p, p * g.tmin_score.numpy() * g.tmax_score.numpy()],
                        axis=1)
        seg, sc = post_processing(rows, output_duration_s(100., s.metainfo['duration_frame']),
                                  0.75, 0.65, 0.9, 5)
        assert len(sc) == 5
        np.testing.assert_allclose(s.pred_instances.segments.numpy(), seg, rtol=1e-6)
        np.testing.assert_allclose(s.pred_instances.scores.numpy(), sc, rtol=1e-6)
        assert s.pred_instances.segments.max() <= 100.


def test_pem_bad_input():
    model = PEM()
    s = LocalizationDataSample(metainfo=dict(video_name='v_a'))
    s.proposals = InstanceData(features=torch.rand(3, 16))
    with pytest.raises(ValueError, match=r'BSP features \(N, 32\)'):
        model([torch.tensor(0.)], [s], mode='tensor')
    s.proposals = InstanceData(tmin=torch.rand(3))
    with pytest.raises(KeyError, match='proposals.features'):
        model([torch.tensor(0.)], [s], mode='loss')


def test_tem_pem_losses_are_built_from_config():
    from mmloc.models.losses import PEMLoss, TEMLoss
    tem = TEM(temporal_dim=10, tem_feat_dim=8, tem_hidden_dim=4, tem_match_threshold=0.4,
              loss_weight=3.0)
    assert isinstance(tem.loss_module, TEMLoss)
    assert (tem.loss_module.match_threshold, tem.loss_module.action_weight) == (0.4, 3.0)
    tem2 = TEM(temporal_dim=10, tem_feat_dim=8, tem_hidden_dim=4,
               loss=dict(type='TEMLoss', match_threshold=0.7, action_weight=1.0))
    assert tem2.loss_module.match_threshold == 0.7
    pem = PEM(weighted_loss=True, pem_u_ratio_l=3.0)
    assert isinstance(pem.loss_module, PEMLoss)
    assert pem.loss_module.weighted and pem.loss_module.u_ratio_l == 3.0
    pred, ref = torch.rand(20), torch.rand(20)
    torch.manual_seed(5)
    a = pem.loss_module(pred, ref)
    torch.manual_seed(5)
    b = pem_loss(pred, ref, u_ratio_l=3.0, weighted=True)
    torch.testing.assert_close(a, b)
    assert not any(k.startswith('loss_module') for k in pem.state_dict())
