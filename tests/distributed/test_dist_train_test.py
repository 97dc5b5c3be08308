"""2 processes (gloo, CPU) vs 1 process, through tools/dist_train.sh and tools/dist_test.sh.

Run alone with ``pytest -m slow tests/distributed`` (each launch takes 20-40 s on 2 cores).
"""
import json
import sys

import numpy as np
import pytest
import torch

from dist_helpers import T, C, read_losses, read_test_metrics, run_tool, write_config
from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
from mmloc.engine.checkpoint import safe_torch_load

pytestmark = pytest.mark.slow

NUM_TRAIN, NUM_VAL = 16, 7  # 7 val videos: the 2-rank sampler pads one duplicate
METRIC_KEYS = ('auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100')

# (a) is checked twice; the tolerances are stated here and were measured on this set.
# * Same videos per step: 2 ranks x 2 videos against 1 process x 2 videos with 2-step
#   gradient accumulation, in order (no shuffle). Rank r takes videos r, r+2, r+4, ... so
#   its k-th batch is (4k+r, 4k+r+2); the single process reads the same videos from an
#   annotation file reordered to 0, 2, 1, 3, 4, 6, 5, 7, ... Both update with the mean
#   gradient of the same two half batches. What remains different is randomness: BMN's
#   PEM-reg loss samples cells with torch.rand_like (spec §3.6), and rank 1 draws from
#   its own stream. So: the first step's deterministic terms are equal to 1e-6; the
#   deterministic TEM loss stays within 1e-4 over the run (measured 1e-5), PEM-cls within
#   2 % (measured 0.6 %); PEM-reg is a few-cell random sample (measured up to 52 % per
#   step) and is only compared through the run's mean total loss, within 3 %.
# * Plain set-up: 2 ranks x 2 videos against 1 process x 4 videos (shuffled). Besides the
#   sampling, BMN's loss ratios are counted over the whole batch (spec §3.6), so a half
#   batch weighs its videos differently; measured: TEM 0.3 %, PEM-cls 1.6 %, total 4.5 %.
#   Stated tolerance: TEM 2 %, PEM-cls 5 %, total loss 10 %.
EXACT_RTOL = dict(tem=1e-4, pem_cls=0.02)
MEAN_LOSS_RTOL = 0.03
PLAIN_RTOL = dict(tem=0.02, pem_cls=0.05, loss=0.10)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    data = root / 'data'
    generate_synthetic_activitynet(str(data), num_train=NUM_TRAIN, num_val=NUM_VAL, seed=5,
                                   cfg=SyntheticConfig(temporal_dim=T, feat_dim=C, num_classes=3))
    config = write_config(str(root / 'bmn_dist.py'), str(data))
    out = dict(root=root, data=data, config=config)
    for name in ('exact_1', 'exact_2', 'plain_1', 'plain_2'):
        out[name] = root / name
    anno = json.loads((data / 'anet_anno_train.json').read_text())
    names = list(anno)
    order = [i + j for i in range(0, len(names), 4) for j in (0, 2, 1, 3)]
    (data / 'train_interleaved.json').write_text(json.dumps({names[i]: anno[names[i]] for i in order}))
    in_order = ['train_dataloader.batch_size=2', 'train_dataloader.sampler.shuffle=False']
    run_tool([sys.executable, 'tools/train.py', config, '--work-dir', str(out['exact_1']),
              '--cfg-options', *in_order, 'optim_wrapper.accumulative_counts=2',
              f'train_dataloader.dataset.ann_file={data}/train_interleaved.json'])
    run_tool(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(out['exact_2']),
              '--cfg-options', *in_order])
    run_tool(['bash', 'tools/dist_train.sh', config, '1', '--work-dir', str(out['plain_1'])])
    run_tool(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(out['plain_2']),
              '--cfg-options', 'train_dataloader.batch_size=2'])
    return out


def _max_abs_diff(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def test_two_processes_equal_one_process_with_gradient_accumulation(runs):
    one = read_losses(str(runs['exact_1']))
    two = read_losses(str(runs['exact_2']))
    assert sorted(one) == [0] and sorted(two) == [0, 1]
    steps = 2 * NUM_TRAIN // 4  # optimizer steps in 2 epochs
    assert len(one[0]) == 2 * steps and len(two[0]) == len(two[1]) == steps

    def curve(key):
        single = np.array([r[key] for r in one[0]])
        # rank r at iteration k saw the videos the single process saw at iteration 2k + r
        ranks = np.stack([[r[key] for r in two[0]], [r[key] for r in two[1]]], axis=1).ravel()
        assert np.isfinite(single).all() and np.isfinite(ranks).all(), key
        return single, ranks

    # first step, same weights: rank 0 also has the single process's random stream
    for key in ('loss', 'tem', 'pem_reg', 'pem_cls'):
        single, ranks = curve(key)
        assert ranks[0] == pytest.approx(single[0], rel=1e-6), key
        if key in ('tem', 'pem_cls'):
            assert ranks[1] == pytest.approx(single[1], rel=1e-6), key
    for key, rtol in EXACT_RTOL.items():
        single, ranks = curve(key)
        np.testing.assert_allclose(ranks, single, rtol=rtol, err_msg=key)
    single, ranks = curve('loss')
    assert ranks.mean() == pytest.approx(single.mean(), rel=MEAN_LOSS_RTOL)
    ck1 = safe_torch_load(str(runs['exact_1'] / 'epoch_2.pth'))
    ck2 = safe_torch_load(str(runs['exact_2'] / 'epoch_2.pth'))
    assert not any(k.startswith('module.') for k in ck2['state_dict'])
    assert set(ck1['state_dict']) == set(ck2['state_dict'])
    for state in (*ck1['optimizer']['state'].values(), *ck2['optimizer']['state'].values()):
        assert int(state['step']) == steps
    # both checkpoints carry the RNG state of every rank, for --resume
    assert len(ck1['rng_state']) == 1 and len(ck2['rng_state']) == 2


def test_two_processes_of_two_videos_track_one_process_of_four(runs):
    one = read_losses(str(runs['plain_1']))
    two = read_losses(str(runs['plain_2']))
    assert sorted(one) == [0] and sorted(two) == [0, 1]
    iters = 2 * NUM_TRAIN // 4
    assert [r['iter'] for r in one[0]] == list(range(iters))
    assert [r['iter'] for r in two[0]] == [r['iter'] for r in two[1]] == list(range(iters))
    for key, rtol in PLAIN_RTOL.items():
        single = np.array([r[key] for r in one[0]])
        mean_of_ranks = np.mean([[r[key] for r in two[rank]] for rank in (0, 1)], axis=0)
        np.testing.assert_allclose(mean_of_ranks, single, rtol=rtol, err_msg=key)
    # the ranks saw different videos (a rank-local sampler bug would make them equal)
    assert [r['loss'] for r in two[0]] != [r['loss'] for r in two[1]]
    ck1 = safe_torch_load(str(runs['plain_1'] / 'epoch_2.pth'))
    ck2 = safe_torch_load(str(runs['plain_2'] / 'epoch_2.pth'))
    assert ck1['meta']['iter'] == ck2['meta']['iter'] == iters


def test_two_process_testing_equals_one_process(runs, tmp_path):
    ckpt = str(runs['exact_1'] / 'epoch_2.pth')
    out1, out2 = tmp_path / 'one' / 'results.json', tmp_path / 'two' / 'results.json'
    run_tool(['bash', 'tools/dist_test.sh', runs['config'], ckpt, '1', '--work-dir',
              str(tmp_path / 'one'), '--eval', 'AR@AN', '--out', str(out1)])
    run_tool(['bash', 'tools/dist_test.sh', runs['config'], ckpt, '2', '--work-dir',
              str(tmp_path / 'two'), '--eval', 'AR@AN', '--out', str(out2)])
    res1, res2 = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert res2 == res1
    # every video exactly once: none missing, the sampler's padding duplicate dropped
    anno = json.loads((runs['data'] / 'anet_anno_val.json').read_text())
    assert len(anno) == NUM_VAL and NUM_VAL % 2 == 1
    assert sorted(res2['results']) == sorted(name[2:] for name in anno)
    assert all(0 < len(items) <= 20 for items in res2['results'].values())
    m1 = read_test_metrics(str(tmp_path / 'one'))
    m2 = read_test_metrics(str(tmp_path / 'two'))
    for key in METRIC_KEYS:
        assert m2[key] == m1[key], key
    # and they are the AR@AN of results.json against the annotation file (eval_metric.py)
    from mmloc.evaluation.metrics.anet_metric import ar_an_from_files
    offline = ar_an_from_files(str(out2), str(runs['data'] / 'anet_anno_val.json'))
    for key in METRIC_KEYS:
        assert offline[key] == pytest.approx(m2[key], abs=1e-12), key
    assert 0 < m2['AR@100'] <= 1
