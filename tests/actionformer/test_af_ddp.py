"""DDP with 2 gloo processes equals 1 process on the full batch (ActionFormer and TriDet).

Upstream trains in one process on the whole batch; its EMA loss normaliser counts the
positives of that batch (spec §4.2.1). Under DDP each rank sees half the batch, so the count
is all-reduced and each rank's sums are scaled by the world size (DDP averages gradients).
Two ranks of 2 videos must then give the parameters, the normaliser and the mean logged loss of
one process of 4 videos, step after step (SGD with momentum, gradient clipping 1.0; AdamW would turn the
near-zero float noise of gradients such as the key LayerNorm bias, to which the softmax is
invariant, into full-size steps). Deterministic: no
drop path, no input noise.
"""
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.structures import InstanceData

from af_configs import C, L, K, af_cfg, td_cfg

STEPS, VIDEOS = 3, 4
LENGTHS = (64, 50, 37, 60)


def _config(name: str) -> dict:
    cfg = af_cfg() if name == 'actionformer' else td_cfg()
    cfg['backbone'] = dict(cfg['backbone'], drop_path=0.0)
    return cfg


def _data():
    """``VIDEOS`` feature sequences ``(C, T_i)`` and their samples (grid-unit GT)."""
    from mmloc.structures import LocalizationDataSample
    g = torch.Generator().manual_seed(3)
    rng = np.random.default_rng(3)
    feats, samples = [], []
    for i, n in enumerate(LENGTHS):
        feats.append(torch.randn(C, n, generator=g))
        starts = rng.uniform(0, n - 12, 3)
        segs = np.stack([starts, starts + rng.uniform(2, 11, 3)], 1).astype(np.float32)
        s = LocalizationDataSample(metainfo=dict(valid_length=n, video_name=f'v{i}'))
        s.gt_instances = InstanceData(segments=segs, labels=rng.integers(0, K, 3))
        samples.append(s)
    return feats, samples


def _train(name: str, rank: int, world: int):
    """STEPS optimizer steps; rank ``r`` of ``world`` takes videos ``r, r + world, ...``."""
    from mmloc.registry import MODELS
    from mmloc.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(_config(name))
    model.train()
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    feats, samples = _data()
    mine = list(range(rank, VIDEOS, world))
    losses = []
    for _ in range(STEPS):
        out = net([feats[i] for i in mine], [samples[i] for i in mine], mode='loss')
        loss = sum(out.values())
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        losses.append(float(loss.detach()))
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            model.loss_module.normalizer.value, losses)


def _worker(rank: int, world: int, port: int, name: str, out_dir: str) -> None:
    os.environ['OMP_NUM_THREADS'] = '1'
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world)
    try:
        torch.save(_train(name, rank, world), os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('name', ['actionformer', 'tridet'])
def test_two_gloo_processes_equal_one_process(name, tmp_path):
    one_state, one_norm, one_losses = _train(name, 0, 1)
    mp.spawn(_worker, args=(2, _free_port(), name, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(2)]
    init_norm = _config(name)['loss'].get('init_loss_norm', 100.0)
    assert one_norm != init_norm
    for state, norm, _ in ranks:
        assert norm == pytest.approx(one_norm, rel=1e-12)
        for k, v in one_state.items():
            torch.testing.assert_close(state[k], v, atol=2e-6, rtol=1e-5, msg=k)
    # the ranks' losses are W x their share: their mean is the single process's loss
    np.testing.assert_allclose(np.mean([r[2] for r in ranks], axis=0), one_losses, rtol=1e-5)
    assert ranks[0][2] != ranks[1][2]
