"""SSN data: proposal-list parser, assignment, regression targets, sampling (task modules of
the model, called by the datasets), frame sampling."""
import numpy as np
import pytest
import torch

from mmloc.datasets.ssn_dataset import SSNDataset, SSNFeatureDataset, parse_proposal_list
from mmloc.models.task_modules import (assign_proposal_types, build_video_info, make_instances,
                                       regression_constants, regression_targets,
                                       sample_video_proposals, sampling_counts)
from mmloc.testing.synthetic_thumos import format_proposal_block
from mmloc.datasets.transforms.ssn_sampling import (SampleProposalFrames,
                                                    proposal_stage_geometry,
                                                    sample_proposal_frames, sample_test_frames,
                                                    proposal_test_ticks)


def test_parser_on_shared_samples(shared_data):
    ann = shared_data / 'mmaction2-testdata' / 'annotations'
    (video, ) = parse_proposal_list(str(ann / 'proposal_test_list.txt'))
    assert video['video_id'] == 'imgs' and video['num_frames'] == 5
    np.testing.assert_array_equal(video['gts'], [[3, 1, 2], [3, 3, 5]])
    assert video['proposals'].shape == (10, 5)
    np.testing.assert_allclose(video['proposals'][6], [3, 0.6666, 0.6666, 2, 5])
    (norm, ) = parse_proposal_list(str(ann / 'proposal_normalized_list.txt'))
    # denormalising with n = 5 frames gives the integer list (spec §1.7)
    np.testing.assert_array_equal((norm['proposals'][:, 3:] * 5).astype(int),
                                  video['proposals'][:, 3:])
    info = build_video_info('imgs', 5, video['gts'], video['proposals'])
    # best_iou 1.0 -> positive; [2, 3) has iou 0 and coverage 0.2 -> background
    np.testing.assert_array_equal(info['proposal_type'], [0, -1, -1, -1, 2, -1, -1, -1, 0, -1])
    assert info['pool_is_gt'][:2].all() and (info['pool_type'][:2] == 0).all()


def test_parser_errors_name_the_file(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('# 0\nvid\n10\n1\n1\n3 1\n0\n')
    with pytest.raises(ValueError, match='bad.txt: video vid'):
        parse_proposal_list(str(bad))


def test_make_instances_filters_and_clips():
    keep, seg, cov = make_instances(np.array([[2, 2], [3, 12], [10, 14], [0, 4]]), 10)
    np.testing.assert_array_equal(keep, [False, True, False, True])
    np.testing.assert_array_equal(seg, [[3, 10], [0, 4]])
    np.testing.assert_allclose(cov, [0.9, 0.4])  # unclipped end for coverage


def test_assignment_rules():
    best_iou = np.array([0.8, 0.7, 0.2, 0.005, 0.005, 0.5])
    overlap = np.array([0.9, 0.8, 0.5, 0.5, 0.0, 0.6])
    cov = np.array([0.1, 0.1, 0.1, 0.1, 0.5, 0.1])
    # 0.7 is not > 0.7; 0.005 with overlap 0.5 is incomplete (elif: never background)
    np.testing.assert_array_equal(assign_proposal_types(best_iou, overlap, cov),
                                  [0, -1, 1, 1, 2, -1])


def test_regression_targets_hand_computed():
    # proposal [10, 20): centre 14.5, size 10; best GT [12, 24): centre 17.5, size 12
    out = regression_targets(np.array([[10, 20]]), np.array([[50, 60], [12, 24]]))
    np.testing.assert_allclose(out, [[0.3, np.log(1.2)]])


def _list_file(tmp_path, videos):
    path = tmp_path / 'list.txt'
    path.write_text(''.join(format_proposal_block(i, *v) for i, v in enumerate(videos)))
    return str(path)


def _video(vid, n=100):
    gts = [[2, 10, 30], [1, 60, 80]]
    props = [[2, 0.9, 0.95, 11, 30], [1, 0.8, 0.9, 60, 82]]                    # positives
    props += [[2, 0.1 + 0.01 * i, 0.5, 5 + i, 60 + i] for i in range(10)]      # incompletes
    props += [[0, 0.0, 0.0, 85, 95], [0, 0.0, 0.0, 40, 50]]                    # backgrounds
    return vid, n, gts, props


def test_sampling_counts_and_order():
    assert sampling_counts(8, 1, 1, 6) == (1, 6, 1)
    rng = np.random.default_rng(0)
    pool_type = np.array([0, 1, 1, 2, 1, -1])
    picks = sample_video_proposals(pool_type, (1, 6, 1), rng)
    types = [t for _, _, t in picks]
    assert types == [0, 1, 1, 1, 1, 1, 1, 2]
    # only 3 incompletes: drawn with replacement from them
    assert {i for _, i, t in picks if t == 1} <= {1, 2, 4}
    # 10 incompletes: 6 distinct (no replacement)
    picks = sample_video_proposals(np.array([0] + [1] * 10 + [2]), (1, 6, 1), rng)
    assert len({i for _, i, t in picks if t == 1}) == 6


def test_sampling_falls_back_to_dataset_pool():
    rng = np.random.default_rng(0)
    global_pools = [np.array([[3, 0]]), np.array([[4, 1], [4, 2]]), np.array([[5, 7]])]
    picks = sample_video_proposals(np.array([0, 1]), (1, 1, 1), rng, global_pools)
    assert picks[0] == (None, 0, 0) and picks[1] == (None, 1, 1)
    assert picks[2] == (5, 7, 2)


def test_dataset_samples_ratio_labels_targets(tmp_path):
    path = _list_file(tmp_path, [_video('a'), _video('b', 120)])
    ds = SSNDataset(path, pipeline=[], data_prefix=dict(video=str(tmp_path)), seed=0)
    assert len(ds) == 2
    consts = ds.reg_norm_consts
    # constants from the non-GT positives only (2 per video)
    raw = np.concatenate([regression_targets(np.array([[11, 30], [60, 82]]),
                                             np.array([[10, 30], [60, 80]]))] * 2)
    np.testing.assert_allclose(consts, [raw.mean(0), raw.std(0)])
    for _ in range(20):
        out = ds[0]
        np.testing.assert_array_equal(out['proposal_type'], [0, 1, 1, 1, 1, 1, 1, 2])
        assert out['proposal_labels'][-1] == 0 and (out['proposal_labels'][:7] > 0).all()
        assert np.all(out['reg_targets'][1:] == 0)
        seg = out['proposal_segments'][0]
        expected = (regression_targets(seg[None], np.array([[10, 30], [60, 80]]))[0] -
                    consts[0]) / consts[1]
        np.testing.assert_allclose(out['reg_targets'][0], expected, rtol=1e-5)
    assert regression_constants(ds.data_list).shape == (2, 2)


def test_dataset_test_mode_keeps_all_proposals(tmp_path):
    path = _list_file(tmp_path, [_video('a')])
    ds = SSNDataset(path, pipeline=[], test_mode=True, reg_normalize_constants=[[0, 0], [1, 1]])
    out = ds[0]
    assert len(out['proposal_segments']) == 14
    np.testing.assert_array_equal(out['reg_norm_consts'], [[0, 0], [1, 1]])


def test_stage_geometry_and_val_offsets():
    g = proposal_stage_geometry(10, 20, 100)
    assert (g['valid_start'], g['start_len'], g['course_len'], g['end_len']) == (5, 4, 9, 4)
    assert g['sf_start'] == pytest.approx(1.2) and g['sf_end'] == pytest.approx(1.2)
    inds, sf = sample_proposal_frames(np.array([[10, 20]]), 100, mode='val')
    np.testing.assert_array_equal(inds, [7, 9, 11, 13, 15, 17, 19, 22, 24])
    np.testing.assert_allclose(sf, [[1.2, 1.2]])


def test_train_offsets_stay_in_their_stages():
    rng = np.random.default_rng(0)
    for _ in range(50):
        inds, _ = sample_proposal_frames(np.array([[10, 20]]), 100, mode='train', rng=rng)
        off = inds - 1
        assert np.all((off[:2] >= 5) & (off[:2] <= 9))
        assert np.all((off[2:7] >= 10) & (off[2:7] < 20))
        assert np.all((off[7:] >= 20) & (off[7:] <= 24))
        assert np.all(np.diff(off[2:7]) > 0)


def test_frame_indices_wrap_modulo_video():
    # proposal at the very end: ending stage is empty -> offsets at `end`, wrapped
    inds, _ = sample_proposal_frames(np.array([[95, 100]]), 100, mode='val')
    assert inds.min() >= 1 and inds.max() <= 100
    assert inds[-1] == 100 % 100 + 1


def test_test_ticks_hand_computed():
    ticks, sf = proposal_test_ticks(np.array([[0.2, 0.4], [0.05, 0.45]]), 50)
    np.testing.assert_array_equal(ticks, [[5, 10, 20, 25], [0, 2, 22, 32]])
    np.testing.assert_allclose(sf, [[1, 1], [0.25, 1]], rtol=1e-6)
    np.testing.assert_array_equal(sample_test_frames(20, 6), [1, 7, 13, 19])


def test_sample_proposal_frames_transform_test_mode():
    t = SampleProposalFrames(mode='test', test_interval=6)
    out = t(dict(total_frames=60, proposal_segments=np.array([[12, 24]]), start_index=1))
    assert len(out['frame_inds']) == 10
    np.testing.assert_allclose(out['relative_proposals'], [[0.2, 0.4]])
    np.testing.assert_array_equal(out['proposal_ticks'], [[1, 2, 4, 5]])


def test_test_mode_video_without_proposals_gets_whole_video(tmp_path):
    path = _list_file(tmp_path, [_video('a'), ('b', 50, [[1, 5, 20]], [])])
    ds = SSNDataset(path, pipeline=[], test_mode=True, reg_normalize_constants=[[0, 0], [1, 1]])
    # 0.x: SSNInstance(0, num_frames - 1)
    np.testing.assert_array_equal(ds[1]['proposal_segments'], [[0, 49]])


def test_assigner_and_sampler_config_forms_agree(tmp_path):
    """Typed task-module configs, the 0.x plain dicts and the defaults build the same data."""
    from mmloc.models.task_modules import SSNProposalAssigner, SSNProposalSampler
    path = _list_file(tmp_path, [_video('a'), _video('b', 120)])
    thresholds = dict(positive_iou_threshold=0.7, incomplete_iou_threshold=0.3)
    counts = dict(num_per_video=8, incomplete_ratio=6)
    forms = [dict(), dict(assigner=thresholds, sampler=counts),
             dict(assigner=dict(type='SSNProposalAssigner', **thresholds),
                  sampler=dict(type='SSNProposalSampler', **counts))]
    outs = []
    for form in forms:
        ds = SSNDataset(path, pipeline=[], seed=3, **form)
        assert isinstance(ds.assigner, SSNProposalAssigner)
        assert isinstance(ds.sampler, SSNProposalSampler) and ds.sampler.counts == (1, 6, 1)
        outs.append([ds[i % 2] for i in range(6)])
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            for key in ('proposal_segments', 'proposal_labels', 'proposal_type', 'reg_targets'):
                np.testing.assert_array_equal(a[key], b[key])
    # the dataset's video_centric overrides the sampler's
    ds = SSNDataset(path, pipeline=[], seed=0, video_centric=False,
                    sampler=dict(type='SSNProposalSampler'))
    assert ds.sampler.video_centric is False and ds.video_centric is False


def test_moved_names_still_import_from_the_dataset_module():
    import mmloc.datasets.ssn_dataset as old
    from mmloc.models import task_modules
    for name in ('make_instances', 'assign_proposal_types', 'regression_targets',
                 'build_video_info', 'regression_constants', 'sampling_counts',
                 'sample_video_proposals', 'sliding_window_proposals', 'FOREGROUND'):
        with pytest.warns(DeprecationWarning, match=f'task_modules.{name}'):
            assert getattr(old, name) is getattr(task_modules, name)
    with pytest.raises(AttributeError):
        old.no_such_name


def test_pack_ssn_inputs_is_a_deprecated_alias(tmp_path):
    from mmloc.datasets.transforms import PackLocalizationInputs
    from mmloc.datasets.transforms.ssn_formatting import (SSN_META_KEYS, SSN_TEST_KEYS,
                                                          SSN_TRAIN_KEYS, PackSSNInputs)
    from mmloc.registry import TRANSFORMS
    with pytest.warns(FutureWarning, match='PackLocalizationInputs'):
        alias = TRANSFORMS.build(dict(type='PackSSNInputs'))
    assert isinstance(alias, PackLocalizationInputs) and type(alias) is PackSSNInputs
    path = _list_file(tmp_path, [_video('a')])
    for test_mode, keys in ((False, SSN_TRAIN_KEYS), (True, SSN_TEST_KEYS)):
        ds = SSNDataset(path, test_mode=test_mode, seed=0,
                        reg_normalize_constants=[[0, 0], [1, 1]],
                        pipeline=[dict(type='SampleProposalFrames',
                                       mode='test' if test_mode else 'train', seed=0)])
        res = ds[0]
        res['inputs'] = np.zeros((len(res['frame_inds']), 4), np.float32)
        new = PackLocalizationInputs(keys=keys, meta_keys=SSN_META_KEYS)(dict(res))
        old = alias(dict(res))
        assert set(old['data_samples'].proposals.keys()) == set(
            new['data_samples'].proposals.keys()) == {
                dict(proposal_labels='labels', proposal_type='types', reg_targets='reg_targets',
                     proposal_scale_factor='scale_factors', relative_proposals='segments',
                     proposal_ticks='ticks')[k] for k in keys}
        for key in new['data_samples'].proposals.keys():
            assert torch.equal(old['data_samples'].proposals[key],
                               new['data_samples'].proposals[key])
        meta = new['data_samples'].metainfo
        assert meta['annotations'] == old['data_samples'].metainfo['annotations']
        assert meta['video_name'] == 'a' and meta['annotations'][0]['label'] == 1
        # GT seconds: frame / total_frames * duration (fps 30 -> duration 100 / 30)
        assert meta['annotations'][0]['segment'] == [10 / 100 * (100 / 30), 30 / 100 * (100 / 30)]


def test_feature_dataset_proposal_generator_forms(tmp_path):
    import json
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps({'v1': dict(duration_second=10.0, fps=30.0, annotations=[
        dict(segment=[1.0, 3.0], label='BaseballPitch'), dict(segment=[5.0, 8.5],
                                                              label='Billiards')])}))
    kw = dict(pipeline=[], test_mode=True, reg_normalize_constants=[[0, 0], [1, 1]])
    a = SSNFeatureDataset(str(ann), window_frames=(32, 64), window_stride=0.5, **kw)
    b = SSNFeatureDataset(str(ann), proposal_generator=dict(
        type='SSNSlidingWindowProposals', window_frames=(32, 64), stride_ratio=0.5), **kw)
    info_a, info_b = a.get_data_info(0), b.get_data_info(0)
    np.testing.assert_array_equal(info_a['proposal_segments'], info_b['proposal_segments'])
    assert info_a['num_frames'] == 300  # round(10.0 * 30)
    np.testing.assert_array_equal(info_a['gt_segments'], [[30, 90], [150, 255]])
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'v0': dict(duration_second=0.0, fps=30.0, annotations=[])}))
    with pytest.raises(ValueError, match='bad.json: video v0'):
        SSNFeatureDataset(str(bad), **kw)
