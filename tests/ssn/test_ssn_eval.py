"""SSN detections and THUMOS14 evaluation: post-processing, real annotations as detections."""
import numpy as np
import pytest
import torch

from mmloc.datasets.ssn_dataset import SSNFeatureDataset
from mmloc.models.post_processing.nms import hard_nms
from mmloc.models.ssn.postprocess import apply_regression, combined_scores, ssn_detections
from mmloc.registry import TRANSFORMS

THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def test_combined_scores_softmax_over_foreground_only():
    act = np.array([[100.0, 0.0, np.log(3.0)]])  # the background logit is ignored
    comp = np.array([[0.0, np.log(2.0)]])
    np.testing.assert_allclose(combined_scores(act, comp), [[0.25, 0.75 * 2]])


def test_apply_regression_hand_computed():
    out = apply_regression(np.array([[0.2, 0.4], [0.9, 1.0]]),
                           np.array([[0.5, np.log(2.0)], [0.0, np.log(3.0)]]))
    # c = 0.3 + 0.2 * 0.5 = 0.4, d = 0.4 -> [0.2, 0.6]; second clipped to [0.8, 1.0]
    np.testing.assert_allclose(out, [[0.2, 0.6], [0.8, 1.0]])


def test_temporal_nms_threshold_is_strict():
    segs = np.array([[0.0, 1.0], [0.0, 0.2], [0.5, 1.5], [2.0, 3.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # IoU(0, 1) = 0.2 -> kept (only > 0.2 is dropped); IoU(0, 2) = 1/3 -> dropped
    np.testing.assert_array_equal(hard_nms(segs, scores, 0.2), [0, 1, 3])


def test_ssn_detections_top_k_and_per_class_nms():
    rel = np.array([[0.1, 0.3], [0.1, 0.31], [0.6, 0.8]])
    act = np.log(np.array([[1, 9, 1], [1, 8, 2], [1, 1, 9]], np.float64))
    comp = np.zeros((3, 2))
    seg, score, label = ssn_detections(rel, act, comp, None, top_k=4, nms_iou=0.2)
    # top 4 of 6 entries: (p0,c0)=.9 (p1,c0)=.8 (p2,c1)=.9 (p1,c1)=.2; NMS drops (p1,c0)
    np.testing.assert_allclose(score, [0.9, 0.9, 0.2])
    assert sorted(label.tolist()) == [0, 1, 1]
    assert np.all(np.diff(score) <= 0)


def _temporal_nms_0x_loop(segs, scores, threshold):
    """MMAction2 0.x ``temporal_nms`` written out: union ``len_j - inter + len_i`` with no
    guard, so two zero-length segments give 0/0 = NaN, and NaN is never ``<= threshold``."""
    order = list(np.argsort(scores)[::-1])
    keep = []
    with np.errstate(invalid='ignore', divide='ignore'):
        while order:
            i = order.pop(0)
            keep.append(i)
            survivors = []
            for j in order:
                inter = max(min(segs[i][1], segs[j][1]) - max(segs[i][0], segs[j][0]), 0.0)
                union = (segs[j][1] - segs[j][0]) - inter + (segs[i][1] - segs[i][0])
                if np.float64(inter) / np.float64(union) <= threshold:
                    survivors.append(j)
            order = survivors
    return keep


def test_zero_length_detections_policies():
    # one class; two proposals regress to zero length (clipped to 1.0 and to 0.0), one
    # zero-length proposal as given, two ordinary ones
    rel = np.array([[0.1, 0.3], [0.9, 1.0], [0.5, 0.5], [0.0, 0.05], [0.6, 0.8]])
    act = np.log(np.array([[1, 9], [1, 8], [1, 7], [1, 6], [1, 5]], np.float64))
    comp = np.log(np.array([[0.9], [0.8], [0.7], [0.6], [0.5]]))
    bbox = np.zeros((5, 1, 2))
    bbox[1, 0] = [8.0, 0.0]     # centre pushed far right -> [1, 1]
    bbox[3, 0] = [-8.0, 0.0]    # far left -> [0, 0]
    scores = combined_scores(act, comp)[:, 0]
    segs = apply_regression(rel, bbox[:, 0])
    assert (segs[:, 1] - segs[:, 0] == 0).sum() == 3

    seg, score, _ = ssn_detections(rel, act, comp, bbox, top_k=0, nms_iou=0.2)
    np.testing.assert_allclose(seg, segs[[0, 4]])                     # default: dropped
    np.testing.assert_allclose(score, scores[[0, 4]])

    seg, score, _ = ssn_detections(rel, act, comp, bbox, top_k=0, nms_iou=0.2,
                                   zero_length='keep')
    np.testing.assert_allclose(score, scores)                          # all five, IoU 0

    seg, score, _ = ssn_detections(rel, act, comp, bbox, top_k=0, nms_iou=0.2,
                                   zero_length='mmaction2_0x')
    ref = _temporal_nms_0x_loop(segs, scores, 0.2)
    np.testing.assert_allclose(score, scores[sorted(ref, key=lambda i: -scores[i])])
    assert sorted(ref) == [0, 1, 4]      # the best zero-length one removes the other two
    with pytest.raises(ValueError, match='zero_length must be one of'):
        ssn_detections(rel, act, comp, bbox, zero_length='nan')


@pytest.mark.parametrize('seed', range(20))
def test_hard_nms_0x_mode_equals_the_0x_loop(seed):
    rng = np.random.default_rng(seed)
    n = 40
    starts = rng.choice(np.linspace(0, 1, 11), n)
    lengths = rng.choice([0.0, 0.0, 0.1, 0.2, 0.35], n)
    segs = np.stack([starts, starts + lengths], 1)
    scores = rng.random(n)
    np.testing.assert_array_equal(hard_nms(segs, scores, 0.2, zero_length_overlap=True),
                                  _temporal_nms_0x_loop(segs, scores, 0.2))


def _loop_map(gt, preds, num_classes, thresholds):
    """THUMOS/ActivityNet AP with loops: greedy matching by score, interpolated AP."""
    aps = np.zeros((num_classes, len(thresholds)))
    for c in range(num_classes):
        gts = {v: [s for s, l in zip(*g) if l == c] for v, g in gt.items()}
        n_gt = sum(len(x) for x in gts.values())
        dets = [(sc, v, s) for v, (segs, scs, labs) in preds.items()
                for s, sc, l in zip(segs, scs, labs) if l == c]
        dets.sort(key=lambda d: -d[0])
        for ti, t in enumerate(thresholds):
            used = {v: [False] * len(x) for v, x in gts.items()}
            tp = []
            for _, v, s in dets:
                best, best_j = -1.0, -1
                for j, g in enumerate(gts.get(v, [])):
                    inter = max(0.0, min(s[1], g[1]) - max(s[0], g[0]))
                    iou = inter / ((s[1] - s[0]) + (g[1] - g[0]) - inter)
                    if not used[v][j] and iou >= t and iou > best:
                        best, best_j = iou, j
                if best_j >= 0:
                    used[v][best_j] = True
                tp.append(best_j >= 0)
            tp = np.array(tp, float)
            if n_gt == 0:
                continue
            rec = np.cumsum(tp) / n_gt
            prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
            mprec = np.concatenate([[0], prec, [0]])
            mrec = np.concatenate([[0], rec, [1]])
            for i in range(len(mprec) - 2, -1, -1):
                mprec[i] = max(mprec[i], mprec[i + 1])
            idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
            aps[c, ti] = np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx])
    return aps.mean(0)


@pytest.fixture(scope='module')
def thumos_samples(shared_data):
    """Real THUMOS14 test annotations through SSNFeatureDataset + the configs' test pack."""
    ann = shared_data / 'thumos14' / 'rtd' / 'thumos14_anno_action.json'
    ds = SSNFeatureDataset(str(ann), subset='test', test_mode=True,
                           pipeline=[dict(type='SampleProposalFrames', mode='test')],
                           window_frames=(64, 256), reg_normalize_constants=[[0, 0], [1, 1]])
    pack = TRANSFORMS.build(_test_pack())
    samples = []
    for i in range(len(ds)):
        res = ds[i]
        res['inputs'] = np.zeros((1, 1), np.float32)
        samples.append(pack(res)['data_samples'])
    return samples


def _test_pack():
    from pathlib import Path

    from mmengine.config import Config
    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2] / 'configs' / 'localization' /
                              'ssn' / 'ssn_feature_thumos14_test.py'))
    pack = cfg.test_dataloader.dataset.pipeline[-1].to_dict()
    assert pack['type'] == 'PackLocalizationInputs'
    return pack


def _evaluate(samples, jitter, seed=0):
    from mmloc.evaluation.metrics.detection_metric import DetectionMetric
    from mmloc.datasets.ssn_dataset import THUMOS14_CLASSES
    rng = np.random.default_rng(seed)
    metric = DetectionMetric(tiou_thresholds=THRESHOLDS, classes=THUMOS14_CLASSES)
    gt, preds = {}, {}
    for s in samples:
        anns = s.metainfo['annotations']
        segs = np.array([a['segment'] for a in anns], np.float64).reshape(-1, 2)
        labels = np.array([a['label'] for a in anns], np.int64)
        length = segs[:, 1] - segs[:, 0]
        noisy = segs + rng.normal(0, jitter, size=segs.shape) * length[:, None]
        noisy[:, 1] = np.maximum(noisy[:, 1], noisy[:, 0] + 1e-3)
        scores = rng.uniform(0.1, 1.0, len(segs))
        s.pred_instances = _instances(noisy, scores, labels)
        gt[s.metainfo['video_id']] = (segs, labels)
        preds[s.metainfo['video_id']] = (noisy, scores, labels)
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    return out, _loop_map(gt, preds, len(THUMOS14_CLASSES), THRESHOLDS)


def _instances(segs, scores, labels):
    from mmengine.structures import InstanceData
    inst = InstanceData()
    inst.segments = torch.from_numpy(segs)
    inst.scores = torch.from_numpy(scores)
    inst.labels = torch.from_numpy(labels)
    return inst


def test_thumos14_annotations_loaded(thumos_samples):
    # 213 test videos; Ambiguous-only videos (and video_test_0000270 etc. if GT-less) dropped
    assert 200 <= len(thumos_samples) <= 213
    n = sum(len(s.metainfo['annotations']) for s in thumos_samples)
    assert 3000 < n < 3500
    labels = {a['label'] for s in thumos_samples for a in s.metainfo['annotations']}
    assert labels == set(range(20))


def test_exact_ground_truth_gives_map_one(thumos_samples):
    out, ref = _evaluate(thumos_samples, jitter=0.0)
    for t in THRESHOLDS:
        assert out[f'mAP@{t:.2f}'] == pytest.approx(1.0)
    np.testing.assert_allclose(ref, 1.0)


def test_jittered_ground_truth_lower_and_matches_loop(thumos_samples):
    out, ref = _evaluate(thumos_samples, jitter=0.15, seed=1)
    got = np.array([out[f'mAP@{t:.2f}'] for t in THRESHOLDS])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    assert got[-1] < 0.9 and np.all(np.diff(got) <= 1e-12)
