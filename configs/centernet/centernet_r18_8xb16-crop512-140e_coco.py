# Official ctdet res_18 (msra_resnet: 3 plain deconvs of 256 channels) on COCO:
# 26.5 AP / 28.0 flip / 31.1 multi-scale (author, official issue #480).
_base_ = [
    '../_base_/models/centernet_r18.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
auto_scale_lr = dict(base_batch_size=128)
