"""Fused vs dense BM layer, same checkpoint: identical AR@AN on a synthetic set."""
import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from mmloc.testing.synthetic_activitynet import (SyntheticConfig,
                                               generate_synthetic_activitynet)
from mmloc.evaluation.metrics import ANetMetric
from mmloc.models import BMN
from mmloc.registry import DATASETS

T, C = 16, 8
CFG = dict(temporal_dim=T, boundary_ratio=0.5, num_samples=8, num_samples_per_bin=3,
           feat_dim=C, soft_nms_alpha=0.4, soft_nms_low_threshold=0.5,
           soft_nms_high_threshold=0.9, post_process_top_k=100, hidden_dim_1d=16,
           hidden_dim_2d=8, hidden_dim_3d=16)


def _ar_an(model, loader_batches):
    metric = ANetMetric()
    with torch.no_grad():
        for batch in loader_batches:
            out = model(batch['inputs'], batch['data_samples'], mode='predict')
            metric.process(batch, out)
    return metric.compute_metrics(metric.results), metric.results


def test_fused_and_dense_give_identical_ar_an(tmp_path):
    paths = generate_synthetic_activitynet(
        str(tmp_path), num_train=2, num_val=12, seed=3,
        cfg=SyntheticConfig(temporal_dim=T, feat_dim=C, num_classes=3))
    meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
    dataset = DATASETS.build(dict(
        type='ActivityNetDataset', ann_file=paths['ann_file_val'],
        data_prefix=dict(video=paths['feature_dir']), test_mode=True,
        pipeline=[dict(type='LoadLocalizationFeature', temporal_dim=T, feat_dim=C),
                  dict(type='PackLocalizationInputs', meta_keys=meta)]))
    items = [dataset[i] for i in range(len(dataset))]
    batches = [pseudo_collate(items[i:i + 4]) for i in range(0, len(items), 4)]

    torch.manual_seed(0)
    fused = BMN(**CFG).eval()
    dense = BMN(**CFG, bm_layer='dense').eval()
    dense.load_state_dict(fused.state_dict(), strict=True)

    m_fused, res_fused = _ar_an(fused, batches)
    m_dense, res_dense = _ar_an(dense, batches)
    assert set(m_fused) == {'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'}
    for key in m_fused:
        assert abs(m_fused[key] - m_dense[key]) <= 1e-6, key
    assert 0 < m_fused['AR@100'] <= 1
    # The proposals themselves agree too (float32 network outputs, float64 seconds).
    for a, b in zip(res_fused, res_dense):
        assert a['video_id'] == b['video_id']
        np.testing.assert_allclose(a['segments'], b['segments'], atol=1e-6)
        np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-6)
