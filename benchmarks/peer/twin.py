"""Shared pieces of the mmloc twins of the MMAction2 peer benchmarks.

The peer scripts live outside this repository (``../shared/peer-bench`` beside the
checkout, or ``$MMLOC_PEER_BENCH``, or ``--peer-dir``). The twins import the peer's
``synth.py`` (the seeded inputs) and its timing helpers from ``common.py``
(``median_time``, ``peak_rss_mib``, the ``other_cpu_load`` counters) so that both sides
measure the same inputs with the same clock; nothing of the peer is copied here. What is
timed on the mmloc side is always mmloc's own code, built from its default configs.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_PEER_DIR = osp.join(osp.dirname(REPO), 'shared', 'peer-bench')
BMN_CONFIG = 'configs/localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py'
TEM_CONFIG = 'configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py'
PGM_CONFIG = 'configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py'
PEM_CONFIG = 'configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py'


def peer_dir(path: str | None = None) -> str:
    """The peer-bench directory: ``path``, else ``$MMLOC_PEER_BENCH``, else the default."""
    path = path or os.environ.get('MMLOC_PEER_BENCH') or DEFAULT_PEER_DIR
    if not osp.isfile(osp.join(path, 'synth.py')):
        raise FileNotFoundError(f'{path}: no synth.py; give the peer-bench directory with '
                                '--peer-dir or $MMLOC_PEER_BENCH')
    return path


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_synth(path: str | None = None):
    """The peer's ``synth`` module (seeded inputs) from :func:`peer_dir`."""
    return _load('peer_synth', osp.join(peer_dir(path), 'synth.py'))


def parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every twin takes (the peer's, plus ``--peer-dir`` and ``--quick``)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--peer-dir', default=None, help='directory holding the peer synth.py')
    ap.add_argument('--quick', action='store_true',
                    help='smoke run: repeat 1 and small inputs (figures not comparable)')
    return ap


class Twin:
    """The peer's ``synth`` and timing helpers, and mmloc's start-up (threads, registries).

    Construct it first thing in ``main``: the ``other_cpu_load`` window starts here, as
    the peer's starts when its ``common`` is imported.
    """

    def __init__(self, path: str | None = None) -> None:
        root = peer_dir(path)
        self.synth = load_synth(root)
        self.common = _load('peer_common', osp.join(root, 'common.py'))
        self.median_time = self.common.median_time
        self.peak_rss_mib = self.common.peak_rss_mib
        self._start = (time.time(), self.common.cpu_busy_s(), self.common.own_cpu_s())
        self.common.setup_torch()           # same thread count and seed as the peer
        if REPO not in sys.path:
            sys.path.insert(0, REPO)
        from mmloc.utils import register_all_modules
        register_all_modules(init_default_scope=True)

    def emit(self, name: str, **results) -> dict:
        """Print the one JSON line, in the shape of the peer's ``common.emit``."""
        import mmengine
        import numpy
        import torch

        import mmloc
        wall = time.time() - self._start[0]
        others = ((self.common.cpu_busy_s() - self._start[1])
                  - (self.common.own_cpu_s() - self._start[2]))
        out = dict(bench=name, torch=torch.__version__, numpy=numpy.__version__,
                   mmengine=mmengine.__version__, mmloc=mmloc.__version__,
                   threads=torch.get_num_threads(), wall_s=round(wall, 1),
                   other_cpu_load=round(max(others, 0.0) / wall, 2),
                   # 4 significant digits, not the peer's 4 decimals: our sub-ms
                   # figures (BMN post-processing ~1 ms) would keep one digit
                   **{k: (float(f'{v:.4g}') if isinstance(v, float) else v)
                      for k, v in results.items()})
        print(json.dumps(out), flush=True)
        return out


def load_config(path: str):
    """An mmloc config from the repository (relative paths are taken from its root), with
    its ``env_cfg`` process settings applied as ``tools/train.py``/``test.py`` apply them
    (``reuse_freed_cpu_memory``)."""
    from mmengine.config import Config

    from mmloc.utils.cpu_memory import apply_env_cpu_memory
    cfg = Config.fromfile(osp.join(REPO, path))
    apply_env_cpu_memory(cfg.get('env_cfg'))
    return cfg


def build(cfg_model: dict):
    """The model of a config, as the runner builds it."""
    from mmloc.registry import MODELS
    return MODELS.build(cfg_model)


def optim_wrapper(model, cfg):
    """The config's optimiser wrapper (Adam + gradient clipping) for ``model``."""
    from mmengine.optim import build_optim_wrapper
    return build_optim_wrapper(model, cfg.optim_wrapper)


def feature_batch(cfg, pipeline_key: str, infos, feats) -> dict:
    """A collated batch made by the config's pipeline and collate function.

    The pipeline's ``LoadLocalizationFeature`` is skipped and the features are given in
    memory as ``raw_feature`` (C, T), which is what the peer does with MMAction2's
    transforms, so loading is out of the figure on both sides.
    """
    from mmengine.dataset import Compose

    from mmloc.datasets.collate import localization_collate
    steps = [t for t in cfg[pipeline_key] if t['type'] != 'LoadLocalizationFeature']
    pipeline = Compose(steps)
    packed = [pipeline(dict(info, raw_feature=f)) for info, f in zip(infos, feats)]
    return localization_collate(packed)


def timed_calls(module, name: str, calls: list):
    """Wrap ``module.name`` so that each call appends ``(len(first arg), seconds)`` to
    ``calls``; returns a function that restores the original."""
    original = getattr(module, name)

    def wrapped(first, *args, **kwargs):
        t0 = time.perf_counter()
        out = original(first, *args, **kwargs)
        calls.append((len(first), time.perf_counter() - t0))
        return out
    setattr(module, name, wrapped)
    return lambda: setattr(module, name, original)
