"""STPP train/test: hand-built values, a 0.x-style loop reference, fused test weights."""
import numpy as np
import pytest
import torch

from mmloc.models.ssn.head import SSNHead
from mmloc.models.ssn.stpp import (fuse_test_weights, num_multipliers, parse_stage_config,
                                   stpp_test, stpp_train)


def test_parse_stage_config():
    assert parse_stage_config(1) == ((1, ), 1)
    assert parse_stage_config((1, 2)) == ((1, 2), 3)
    assert num_multipliers((1, (1, 2), 1)) == 5
    assert num_multipliers((1, 1, 1)) == 3


def test_stpp_train_hand_built():
    # one proposal, D = 1, frames 1..9: starting [1, 2], course [3..7], ending [8, 9]
    x = torch.arange(1, 10, dtype=torch.float64).reshape(9, 1)
    sf = torch.tensor([[2.0, 3.0]], dtype=torch.float64)
    act, comp = stpp_train(x, sf, (1, (1, 2), 1), (2, 5, 2))
    assert act.shape == (1, 1) and comp.shape == (1, 5)
    assert act.item() == pytest.approx(5.0)
    # start: mean(1,2)*2; course 1 part: mean(3..7)/3; 2 parts (ticks 0,2,5): 3.5/3, 6/3;
    # end: mean(8,9)*3
    expected = [3.0, 5 / 3, 3.5 / 3, 2.0, 25.5]
    np.testing.assert_allclose(comp[0].numpy(), expected)


def test_stpp_train_shapes_batch():
    x = torch.randn(4 * 9, 16)
    act, comp = stpp_train(x, torch.ones(4, 2), (1, 1, 1))
    assert act.shape == (4, 16) and comp.shape == (4, 48)
    # (1, 1, 1) with unit scale: the parts are plain stage means
    v = x.view(4, 9, 16)
    torch.testing.assert_close(comp[:, 16:32], v[:, 2:7].mean(1))
    torch.testing.assert_close(comp[:, :16], v[:, :2].mean(1))


def _stpp_test_loop(scores, ticks, sf, k, stpp_stage):
    """0.x STPPTest, written as loops (reference for the vectorised version)."""
    stages = [parse_stage_config(s)[0] for s in stpp_stage]
    m = num_multipliers(stpp_stage)
    n = scores.shape[0]
    act_len, comp_len, reg_len = k + 1, k, 2 * k
    out_a = np.zeros((len(ticks), act_len))
    out_c = np.zeros((len(ticks), comp_len))
    out_r = np.zeros((len(ticks), reg_len))
    raw_c = scores[:, act_len:act_len + comp_len * m]
    raw_r = scores[:, act_len + comp_len * m:]
    for i, t in enumerate(ticks):
        out_a[i] = scores[t[1]:max(t[1] + 1, t[2]), :act_len].mean(0)
        for out, raw, length in ((out_c, raw_c, comp_len), (out_r, raw_r, reg_len)):
            offset = 0
            for s, parts in enumerate(stages):
                scale = sf[i, 0] if s == 0 else (sf[i, 1] if s == len(stages) - 1 else 1.0)
                left = t[s]
                right = float(max(t[s] + 1, t[s + 1]))
                if right <= 0 or left >= n:
                    offset += sum(parts)
                    continue
                for p in parts:
                    pt = [int(left + j * (right - left) / p) for j in range(p + 1)]
                    for j in range(p):
                        if pt[j + 1] - pt[j] >= 1:
                            out[i] += raw[pt[j]:pt[j + 1],
                                          offset * length:(offset + 1) * length].mean(0) * scale
                        offset += 1
    return out_a, out_c, out_r


def test_stpp_test_hand_built():
    n, k = 10, 1
    idx = np.arange(n, dtype=np.float64)
    scores = np.zeros((n, 2 + 3 + 6))
    scores[:, 0] = idx
    scores[:, 2], scores[:, 3], scores[:, 4] = idx, 10 * idx, 100 * idx
    ticks = torch.tensor([[2, 4, 7, 9]])
    sf = torch.tensor([[0.5, 2.0]])
    act, comp, reg = stpp_test(torch.from_numpy(scores), ticks, sf, k, (1, 1, 1))
    assert act[0, 0].item() == pytest.approx(5.0)  # mean of frames 4, 5, 6
    # 2.5 * 0.5 (frames 2, 3) + 10 * 5 (frames 4..6) + 100 * 7.5 * 2 (frames 7, 8)
    assert comp[0, 0].item() == pytest.approx(1.25 + 50 + 1500)
    assert reg.shape == (1, 2) and torch.all(reg == 0)


@pytest.mark.parametrize('stage', [(1, 1, 1), (1, (1, 2), 1)])
def test_stpp_test_matches_loop_reference(stage):
    rng = np.random.default_rng(0)
    k, n = 3, 23
    m = num_multipliers(stage)
    scores = rng.normal(size=(n, k + 1 + k * m + 2 * k * m))
    rel = np.sort(rng.uniform(0, 1, size=(40, 2)), axis=1)
    rel[:, 1] = np.maximum(rel[:, 1], rel[:, 0] + 1e-3)
    rel[0] = [0.0, 1.0]
    rel[1] = [0.97, 0.99]
    from mmloc.datasets.transforms.ssn_sampling import proposal_test_ticks
    ticks, sf = proposal_test_ticks(rel, n)
    ref = _stpp_test_loop(scores, ticks, sf, k, stage)
    out = stpp_test(torch.from_numpy(scores), torch.from_numpy(ticks), torch.from_numpy(sf), k,
                    stage)
    for a, b in zip(out, ref):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-10)


def test_fused_test_fc_equals_head_on_constant_frames():
    """With every frame equal and scale factors 1, the test path on frames reproduces the
    training head up to 0.x's bias scaling: activity exactly, completeness
    ``W x + b`` summed over stages with bias ``b (1 + 1 + 1) / 3``."""
    torch.manual_seed(0)
    head = SSNHead(in_channels=8, num_classes=4, stpp_stage=(1, 1, 1), init_std=0.1)
    torch.nn.init.normal_(head.completeness_fc.bias)
    torch.nn.init.normal_(head.regressor_fc.bias)
    feat = torch.randn(1, 8)
    frames = feat.expand(12, 8)
    scores = head.frame_scores(frames)
    act, comp, reg = head.forward_test(scores, torch.tensor([[0, 3, 8, 11]]),
                                       torch.ones(1, 2))
    train_act, train_comp, train_reg = head(feat.expand(9, 8), torch.ones(1, 2))
    torch.testing.assert_close(act, train_act)
    # training divides parts by the stage multiplier (1 here); test adds 3 parts of W_m x + b/3
    torch.testing.assert_close(comp, train_comp)
    torch.testing.assert_close(reg, train_reg)


def test_fuse_test_weights_layout():
    d, k, m = 3, 2, 3
    aw, ab = torch.randn(k + 1, d), torch.randn(k + 1)
    cw, cb = torch.randn(k, m * d), torch.randn(k)
    w, b = fuse_test_weights(aw, ab, cw, cb, None, None, m)
    assert w.shape == (k + 1 + k * m, d)
    # row block j holds the completeness weights that multiply part j
    for j in range(m):
        torch.testing.assert_close(w[k + 1 + j * k:k + 1 + (j + 1) * k], cw[:, j * d:(j + 1) * d])
        torch.testing.assert_close(b[k + 1 + j * k:k + 1 + (j + 1) * k], cb / m)
