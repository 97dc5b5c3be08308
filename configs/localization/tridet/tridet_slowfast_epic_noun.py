# TriDet, EPIC-Kitchens 100 nouns, SlowFast features (actionformer-spec §7 "TD EPIC noun"):
# the verb config with 300 classes, SGP window 1, k 4 (MLP 1024, 16 bins, IoU power 0.25, no
# input noise), label smoothing 0.1, the noun JSON, 5 + 14 epochs, eta_min 1e-8.
# Published: 23.76 average mAP.
_base_ = ['./tridet_slowfast_epic.py']

_ann = 'data/epic_actionformer/annotations/epic_kitchens_100_noun.json'
warmup_epochs = 5
epochs = 14
max_epochs = 19
model = dict(num_classes=300, backbone=dict(windows=1, k=4), loss=dict(label_smoothing=0.1))
train_dataloader = dict(dataset=dict(ann_file=_ann))
val_dataloader = dict(dataset=dict(ann_file=_ann))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
