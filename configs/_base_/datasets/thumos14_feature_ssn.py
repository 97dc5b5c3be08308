# THUMOS14-format snippet features for SSN (SSNFeatureDataset, annotation JSON in seconds):
# the 20 THUMOS14 classes, multi-scale sliding-window proposals (in frames), SSN's feature
# pipelines and THUMOS14 mAP at tIoU 0.1:0.1:0.7 (averaged over 0.3:0.7). The configs set
# the paths, the data set and the loaders (ssn_feature_thumos14_train.py); the synthetic
# THUMOS-like demo replaces the classes, the windows and the snippet step.
classes = [
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking'
]
window_frames = (16, 32, 64, 128, 256, 512)
window_stride = 0.25
snippet_frames = 4  # frames per feature snippet (test frames are sampled at this step)

# model logic the dataset runs (mmloc/models/task_modules): proposals when no proposal_file
# is given, their assignment and the per-video sampling (spec §5.2 defaults)
proposal_generator = dict(type='SSNSlidingWindowProposals', window_frames=window_frames,
                          stride_ratio=window_stride)
# what the data samples carry (see mmloc/datasets/transforms/ssn_formatting.py)
ssn_meta_keys = ('video_id', 'video_name', 'total_frames', 'fps', 'duration_second',
                 'reg_norm_consts', 'annotations')
train_pipeline = [
    dict(type='SampleProposalFrames', mode='train'),
    dict(type='SSNLoadFeatures'),
    dict(type='PackLocalizationInputs',
         keys=('proposal_labels', 'proposal_type', 'reg_targets', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
test_pipeline = [
    dict(type='SampleProposalFrames', mode='test', test_interval=snippet_frames),
    dict(type='SSNLoadFeatures'),
    dict(type='PackLocalizationInputs',
         keys=('relative_proposals', 'proposal_ticks', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
val_evaluator = dict(type='DetectionMetric', protocol='thumos14',
                     tiou_thresholds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                     average_over=[0.3, 0.4, 0.5, 0.6, 0.7], classes=classes)
