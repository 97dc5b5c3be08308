"""PGM candidates and BSP features: loop reference on random TEM outputs, §10 golden values."""
import numpy as np
import pytest
from bsn_loop_reference import loop_bsp_feature, loop_candidate_proposals, random_tem

from mmloc.models.utils.bsn_pgm import (boundary_mask, generate_bsp_feature,
                                        generate_candidate_proposals)

GOLDEN_PGM = {
    'v_test1': ([30, 60], [
        [.1, .7, .58390868, .35708317, .20850396, .55555556, .55555556],
        [.1, .5, .58390868, .32605207, .19038463, .29411765, .41666667],
        [.1, .3, .58390868, .26221931, .15311213, 0, 0],
        [.3, .7, .30626667, .35708317, .10936267, .83333333, .83333333],
        [.3, .5, .30626667, .32605207, .09985888, .45454545, .83333333]]),
    'v_test2': ([6, 8], [
        [.1, .3, .78390867, .3622193, .28394685, 0, 0],
        [.1, .7, .78390867, .35708317, .27992059, 0, 0],
        [.1, .5, .78390867, .32605207, .25559504, 0, 0]]),
}


def _load_tem(shared_data, name):
    path = shared_data / 'mmaction2-testdata' / 'tem_results' / f'{name}.csv'
    return np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1)


@pytest.mark.parametrize('name', sorted(GOLDEN_PGM))
def test_candidates_golden(shared_data, name):
    segment, expected = GOLDEN_PGM[name]
    cs = 900 / 1000 * 100  # corrected_second of the spec's video infos
    out = generate_candidate_proposals(_load_tem(shared_data, name), 5, 0.5,
                                       np.array([segment]) / cs)
    np.testing.assert_allclose(out, np.array(expected), atol=1e-7)


def test_bsp_golden(shared_data):
    tem = _load_tem(shared_data, 'v_test1')
    props = np.loadtxt(shared_data / 'mmaction2-testdata' / 'proposals' / 'v_test1.csv',
                       dtype=np.float32, delimiter=',', skiprows=1)[:2]
    feat = generate_bsp_feature(tem, props)
    assert feat.shape == (2, 32) and feat.dtype == np.float64
    np.testing.assert_allclose(feat[0, :4], [0.02633105, 0.02489364, 0.02345622, 0.0220188],
                               atol=1e-8)
    np.testing.assert_allclose(feat[1, -4:], [0.0126571, 0.01278569, 0.01291428, 0.01304287],
                               atol=1e-8)
    np.testing.assert_allclose(feat, loop_bsp_feature(tem, props), rtol=0, atol=1e-12)


@pytest.mark.parametrize('seed', range(12))
def test_candidates_match_loop_reference(seed):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(2, 60))
    scale = length if rng.random() < 0.8 else int(rng.integers(2, length + 1))
    tem = random_tem(rng, length)
    gt = np.sort(rng.uniform(-0.1, 1.1, size=(int(rng.integers(0, 4)), 2)), axis=1)
    threshold = float(rng.choice([0.3, 0.5, 0.7]))
    ours = generate_candidate_proposals(tem, scale, threshold, gt)
    ref = loop_candidate_proposals(tem, scale, threshold, gt)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize('seed', range(8))
def test_bsp_matches_loop_reference(seed):
    rng = np.random.default_rng(100 + seed)
    length = int(rng.integers(4, 120))
    tem = random_tem(rng, length)
    props = generate_candidate_proposals(tem, length, 0.5)[:int(rng.integers(1, 300))]
    kw = dict(bsp_boundary_ratio=float(rng.uniform(0.1, 0.5)),
              num_sample_start=int(rng.integers(2, 10)), num_sample_end=int(rng.integers(2, 10)),
              num_sample_action=int(rng.integers(2, 20)), num_sample_interp=int(rng.integers(1, 5)))
    ours = generate_bsp_feature(tem, props, **kw)
    ref = loop_bsp_feature(tem, props, **kw)
    assert ours.shape == (len(props), kw['num_sample_start'] + kw['num_sample_end']
                          + kw['num_sample_action'])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_boundary_mask_hand_computed():
    # Both ends forced; index 2 a strict peak; index 4 above 0.5 * max (0.9) only.
    scores = np.array([0.1, 0.2, 0.5, 0.3, 0.46, 0.47, 0.9, 0.2])
    np.testing.assert_array_equal(boundary_mask(scores, 8, 0.5),
                                  [1, 0, 1, 0, 1, 1, 1, 1])
    # A plateau is not a strict peak.
    np.testing.assert_array_equal(boundary_mask(np.array([0., .2, .2, 0., 1.]), 5, 0.5),
                                  [1, 0, 0, 0, 1])


def test_candidates_structure():
    rng = np.random.default_rng(7)
    tem = random_tem(rng, 100)
    props = generate_candidate_proposals(tem, 100, 0.5, np.array([[0.2, 0.4]]))
    assert props.shape[1] == 7 and 1 <= len(props) <= 100 * 99 // 2
    assert np.all(props[:, 0] < props[:, 1])
    assert np.all(np.diff(props[:, 4]) <= 0)  # sorted by score descending
    np.testing.assert_allclose(props[:, 4], props[:, 2] * props[:, 3])
    assert np.all(props[:, 5] <= props[:, 6] + 1e-12)  # IoU <= IoA
    # snippet centres only
    idx = props[:, :2] * 100 - 0.5
    np.testing.assert_allclose(idx, np.round(idx), atol=1e-9)


def test_candidates_bad_input():
    with pytest.raises(ValueError, match='temporal_scale'):
        generate_candidate_proposals(np.zeros((5, 5)), 10, 0.5)
    with pytest.raises(ValueError, match='TEM output'):
        generate_candidate_proposals(np.zeros((5,)), 5, 0.5)
    with pytest.raises(ValueError, match='num_sample_action'):
        generate_bsp_feature(np.zeros((5, 5)), np.array([[0.1, 0.3]]), num_sample_action=1)
