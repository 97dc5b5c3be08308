# BMN, ActivityNet v1.3, cuhk 400-d features, 2 GPUs x 8 videos, 9 epochs (MMAction2 defaults).
_base_ = [
    '../../_base_/models/bmn_400x100.py', '../../_base_/datasets/activitynet_feature.py',
    '../../_base_/schedules/adam_9e.py', '../../_base_/default_runtime.py'
]

work_dir = './work_dirs/bmn_400x100_2x8_9e_activitynet_feature/'
