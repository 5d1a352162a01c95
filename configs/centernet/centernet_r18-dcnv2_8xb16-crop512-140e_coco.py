# Official ctdet resdcn_18 on COCO: 28.1 AP / 30.0 flip / 33.2 multi-scale (paper, Titan Xp).
# Official run: batch 114, lr 5e-4 (Adam); here 8 GPUs x 16 = 128 images, lr 1.25e-4 per 32.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
auto_scale_lr = dict(base_batch_size=128)
