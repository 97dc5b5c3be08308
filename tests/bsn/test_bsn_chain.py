"""The BSN chain end to end on a tiny synthetic set: TEM train/test -> PGM -> PEM train/test."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmloc.apis.bsn_pgm_runner import run_pgm_from_config
from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / 'configs' / 'localization' / 'bsn'


def _set_pgm_dirs(loader, props, feats):
    loader.dataset.pipeline[0].pgm_proposals_dir = props
    loader.dataset.pipeline[0].pgm_features_dir = feats


def test_tiny_chain(tmp_path, monkeypatch):
    # mmengine formats the whole config with yapf for every log line / checkpoint /
    # dump (most of this test's time on 2 cores); a plain repr is enough here.
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: repr(self.to_dict())))
    data = tmp_path / 'data'
    paths = generate_synthetic_activitynet(str(data), 12, 6, seed=1,
                                           cfg=SyntheticConfig(feat_dim=16, num_classes=3))
    work = tmp_path / 'work'
    tem_dir, props, feats = (str(work / d) for d in ('tem', 'props', 'feats'))

    # 1-2. TEM: train 2 epochs, then write TEM CSVs for train + val videos
    tem_cfg = Config.fromfile(str(CFG / 'bsn_tem_synthetic_demo.py'))
    tem_cfg.work_dir = str(work)
    tem_cfg.model.update(tem_feat_dim=16, tem_hidden_dim=32)
    for loader in (tem_cfg.train_dataloader, tem_cfg.val_dataloader):
        loader.batch_size = 4
        loader.dataset.data_prefix = dict(video=paths['feature_dir'])
        loader.dataset.pipeline[0].feat_dim = 16
    tem_cfg.train_dataloader.dataset.ann_file = paths['ann_file_train']
    tem_cfg.val_dataloader.dataset.ann_file = paths['ann_file_val']
    for ds, ann in zip(tem_cfg.test_dataloader.dataset.datasets,
                       (paths['ann_file_train'], paths['ann_file_val'])):
        ds.update(ann_file=ann, data_prefix=dict(video=paths['feature_dir']))
        ds.pipeline[0].feat_dim = 16
    tem_cfg.train_cfg.update(max_epochs=2, val_begin=2, val_interval=2)
    tem_cfg.param_scheduler = []
    tem_cfg.val_evaluator.out_dir = tem_cfg.test_evaluator.out_dir = tem_dir
    runner = Runner.from_cfg(tem_cfg)
    runner.train()
    assert runner.test() == {}
    assert len(os.listdir(tem_dir)) == 18

    # 3. PGM, both splits
    pgm_cfg = Config.fromfile(str(CFG / 'bsn_pgm_synthetic_demo.py'))
    pgm_cfg.update(ann_file_train=paths['ann_file_train'], ann_file_val=paths['ann_file_val'],
                   tem_results_dir=tem_dir, pgm_proposals_dir=props, pgm_features_dir=feats)
    for mode in ('train', 'test'):
        summary = run_pgm_from_config(pgm_cfg, mode, workers=1, progress=False)
        assert summary['written'] == (12 if mode == 'train' else 6)
    assert len(os.listdir(props)) == len(os.listdir(feats)) == 18

    # 4-5. PEM: train 2 epochs, test with AR@AN and results.json
    pem_cfg = Config.fromfile(str(CFG / 'bsn_pem_synthetic_demo.py'))
    pem_cfg.work_dir = str(work)
    for loader, ann in ((pem_cfg.train_dataloader, paths['ann_file_train']),
                        (pem_cfg.val_dataloader, paths['ann_file_val']),
                        (pem_cfg.test_dataloader, paths['ann_file_val'])):
        _set_pgm_dirs(loader, props, feats)
        loader.dataset.ann_file = ann
        loader.batch_size = 4
    pem_cfg.train_cfg.update(max_epochs=2, val_begin=2, val_interval=2)
    pem_cfg.param_scheduler = []
    results = str(work / 'results.json')
    pem_cfg.val_evaluator.out_file = pem_cfg.test_evaluator.out_file = results
    runner = Runner.from_cfg(pem_cfg)
    runner.train()
    metrics = runner.test()
    for key in ('auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'):
        assert key in metrics
    assert 0 <= metrics['AR@1'] <= metrics['AR@5'] <= metrics['AR@100'] <= 1
    with open(results) as f:
        out = json.load(f)
    val = json.load(open(paths['ann_file_val']))
    assert sorted(out['results']) == sorted(name[2:] for name in val)
    for name, record in val.items():
        items = out['results'][name[2:]]
        assert 0 < len(items) <= 100
        scores = [it['score'] for it in items]
        assert scores == sorted(scores, reverse=True)
        seg = np.array([it['segment'] for it in items])
        assert np.all(seg >= 0) and np.all(seg <= record['duration_second'] + 1e-6)


@pytest.mark.slow
def test_chain_demo_script_reaches_target_ar():
    """tools/misc/bsn_chain_demo.sh on the synthetic set: AR@100 >= 0.75 (about 4-5 min)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=str(Path(os.sys.executable)))
    proc = subprocess.run(['bash', str(REPO / 'tools/misc/bsn_chain_demo.sh')], cwd=REPO,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines() if 'test metrics' in ln][-1]
    ar100 = float(line.split("'AR@100': ")[1].split(',')[0].split('}')[0])
    assert ar100 >= 0.75
