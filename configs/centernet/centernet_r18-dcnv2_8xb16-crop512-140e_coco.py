# Official ctdet resdcn_18 on COCO: 28.1 AP / 30.0 flip / 33.2 multi-scale (paper, Titan Xp).
# Official run (experiments/ctdet_coco_resdcn18.sh): 114 images on 4 GPUs (per-GPU chunks
# 18/32/32/32), Adam lr 5e-4. Here 8 GPUs x 16 = 128 images at the same lr 5e-4, which is what
# the official "1.25e-4 per 32 images" rule gives for 128; BN sees 16 images per GPU instead
# of 18-32. For the official ratio on any number of GPUs use --auto-scale-lr (base 114: lr
# 5e-4 x batch / 114), e.g. 4 GPUs with --cfg-options train_dataloader.batch_size=28.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
auto_scale_lr = dict(base_batch_size=114)
