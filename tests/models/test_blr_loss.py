"""Binary logistic regression loss: golden values (spec §10) and a loop reference."""
import math

import numpy as np
import pytest
import torch

from mmloc.models.losses import BinaryLogisticRegressionLoss, binary_logistic_regression_loss


def _loop_blr(pred, label, threshold=0.5, lo=1.05, hi=21.0, eps=1e-5):
    pred = [float(p) for p in np.ravel(pred)]
    label = [float(y) for y in np.ravel(label)]
    pos = [1.0 if y > threshold else 0.0 for y in label]
    n_pos = max(sum(pos), 1.0)
    r = min(max(len(pred) / n_pos, lo), hi)
    c1, c0 = r / 2, r / (2 * (r - 1))
    total = 0.0
    for p, y in zip(pred, pos):
        total += c1 * y * math.log(p + eps) + c0 * (1 - y) * math.log(1 - p + eps)
    return -total / len(pred)


def test_golden_tem_values():
    start = torch.tensor([0.9, 0.1])
    end = torch.tensor([0.1, 0.9])
    ls = binary_logistic_regression_loss(start, torch.tensor([1.0, 0.0]))
    le = binary_logistic_regression_loss(end, torch.tensor([0.0, 1.0]))
    assert ls.item() == pytest.approx(-math.log(0.90001), abs=1e-6)
    assert (ls + le).item() == pytest.approx(0.2106988, abs=1e-6)


def test_hand_computed_ratio_clamp():
    # 1 positive out of 50 -> ratio 50 clamped to 21: c1 = 10.5, c0 = 21/40.
    pred = torch.full((50,), 0.2)
    label = torch.zeros(50)
    label[3] = 1.0
    expected = -(10.5 * math.log(0.2 + 1e-5) + 49 * (21 / 40) * math.log(0.8 + 1e-5)) / 50
    assert binary_logistic_regression_loss(pred, label).item() == pytest.approx(expected, rel=1e-6)


def test_no_positive_floors_count():
    # n_pos floored to 1 -> ratio = numel = 4, c0 = 4 / 6.
    pred = torch.tensor([0.1, 0.2, 0.3, 0.4])
    expected = -sum((4 / 6) * math.log(1 - p + 1e-5) for p in [0.1, 0.2, 0.3, 0.4]) / 4
    got = BinaryLogisticRegressionLoss()(pred, torch.zeros(4))
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('seed', range(5))
def test_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    shape = (3, int(rng.integers(2, 30)))
    pred = rng.uniform(0.001, 0.999, shape)
    label = rng.uniform(0, 1, shape) ** 2
    threshold = float(rng.uniform(0.2, 0.8))
    got = binary_logistic_regression_loss(torch.tensor(pred), torch.tensor(label), threshold)
    assert got.item() == pytest.approx(_loop_blr(pred, label, threshold), rel=1e-5)


def test_gradient_flows_and_size_mismatch_errors():
    pred = torch.tensor([0.3, 0.7], requires_grad=True)
    binary_logistic_regression_loss(pred, torch.tensor([0.0, 1.0])).backward()
    assert pred.grad is not None and torch.all(pred.grad != 0)
    with pytest.raises(ValueError, match='same number'):
        binary_logistic_regression_loss(torch.zeros(3), torch.zeros(4))
