# Test SSN on THUMOS14 snippet features (test videos), mAP at tIoU 0.1:0.1:0.7:
#   python tools/test.py configs/localization/ssn/ssn_feature_thumos14_test.py CKPT \
#       --eval mAP --out results.json
_base_ = ['./ssn_feature_thumos14_train.py']

test_dataloader = {{_base_.val_dataloader}}
test_evaluator = {{_base_.val_evaluator}}
test_cfg = dict(type='TestLoop')
