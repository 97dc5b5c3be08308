# ActionFormer, EPIC-Kitchens 100 nouns, SlowFast features (actionformer-spec §7 "AF EPIC
# noun"): the verb config with 300 classes, label smoothing 0.1 and the noun JSON; window 9,
# overlapping regression ranges, 5 + 16 epochs, trunc 0.3, pre-NMS top-k 5000, 2000
# detections, sigma 0.4, mAP at tIoU 0.1:0.5. Published: 21.88 average mAP.
_base_ = ['./actionformer_slowfast_epic.py']

_ann = 'data/epic_actionformer/annotations/epic_kitchens_100_noun.json'
model = dict(num_classes=300, loss=dict(label_smoothing=0.1))
train_dataloader = dict(dataset=dict(ann_file=_ann))
val_dataloader = dict(dataset=dict(ann_file=_ann))
test_dataloader = val_dataloader
