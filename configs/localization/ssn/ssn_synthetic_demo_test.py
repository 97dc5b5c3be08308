# Test the synthetic SSN demo on its validation split (mAP at tIoU 0.1:0.1:0.7).
_base_ = ['./ssn_synthetic_demo_train.py']

test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SSNFeatureDataset', class_names={{_base_.classes}},
        data_prefix=dict(video='data/synthetic_thumos/features'),
        proposal_generator={{_base_.proposal_generator}},
        ann_file='data/synthetic_thumos/thumos_anno_val.json', test_mode=True,
        pipeline={{_base_.test_pipeline}},
        reg_normalize_constants=dict(ann_file='data/synthetic_thumos/thumos_anno_train.json')))
test_evaluator = {{_base_.val_evaluator}}
test_cfg = dict(type='TestLoop')
