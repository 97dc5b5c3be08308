# Test SSN (ResNet-50, RGB) on THUMOS14 test raw frames + TAG proposals (MMAction2 0.x defaults):
# frames every 6, top_k 2000, per-class NMS 0.2, regression on; mAP at tIoU 0.1:0.1:0.7.
#   python tools/test.py configs/localization/ssn/ssn_r50_450e_thumos14_rgb_test.py CKPT \
#       --eval mAP --out results.json
_base_ = ['../../_base_/models/ssn_r50.py', '../../_base_/default_runtime.py']

data_root = 'data/thumos14/rawframes/'
ann_file_test = 'data/thumos14/proposals/thumos14_tag_test_proposal_list.txt'
thumos14_classes = [
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking'
]

# what the data samples carry (see mmloc/datasets/transforms/ssn_formatting.py)
ssn_meta_keys = ('video_id', 'video_name', 'total_frames', 'fps', 'duration_second',
                 'reg_norm_consts', 'annotations')
test_pipeline = [
    dict(type='SampleProposalFrames', aug_ratio=(0.5, 0.5), clip_len=1, frame_interval=1,
         test_interval=6, mode='test'),
    dict(type='SSNLoadFrames', filename_tmpl='img_{:05}.jpg', scale=(340, 256), crop_size=224,
         mean=(104, 117, 128), std=(1, 1, 1), to_bgr=True),  # BGR mean on BGR frames, as 0.x
    dict(type='PackLocalizationInputs',
         keys=('relative_proposals', 'proposal_ticks', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SSNDataset', ann_file=ann_file_test, data_prefix=dict(video=data_root + 'test'),
        pipeline=test_pipeline, test_mode=True, fps=30.0, aug_ratio=(0.5, 0.5),
        # None = 0.x behaviour: constants from this (test) file's positives (spec §8 #21);
        # pass the training constants [[mean_loc, mean_size], [std_loc, std_size]] (logged
        # by the training dataset) to avoid it.
        reg_normalize_constants=None))
test_evaluator = dict(type='DetectionMetric', protocol='thumos14',
                      tiou_thresholds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                      average_over=[0.3, 0.4, 0.5, 0.6, 0.7],
                      classes=thumos14_classes)
test_cfg = dict(type='TestLoop')
model = dict(test_cfg=dict(top_k=2000, nms=0.2, use_regression=True, batch_size=16,
                           zero_length='drop'))  # 'mmaction2_0x': 0.x's rows (docs/ssn.md)
work_dir = './work_dirs/ssn_r50_450e_thumos14_rgb'
