# Official ctdet dla_34 "1x" on COCO (experiments/ctdet_coco_dla_1x.sh): batch 128, lr 5e-4.
_base_ = [
    '../_base_/models/centernet_dla34-dcnv2.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
auto_scale_lr = dict(base_batch_size=128)
