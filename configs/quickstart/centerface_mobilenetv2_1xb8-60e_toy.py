# Face quickstart: CenterFace (MobileNetV2 + the 24-channel up-sampling neck + 1x1 heads:
# heatmap, log-size scale, offset, five landmarks) trained from scratch on the toy face set
# (tools/misc/gen_toy_face.py), in minutes on a 2-core CPU. CenterFace's targets, losses,
# weights and decoding; changed for the toy: no ImageNet weights (offline), 128 px input,
# no colour augmentation, its own lr / schedule, 100 faces per image at most.
_base_ = [
    '../_base_/models/centerface_mobilenetv2.py', '../_base_/datasets/toy_face.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
model = dict(
    init_cfg=None,  # from scratch and offline
    bbox_head=dict(codec=dict(max_objs=32, topk=100)),
    test_cfg=dict(score_thr=0))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}},
         random_scales=[0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3], border=128, flip_prob=0.5),
    dict(type='PackCenterNetInputs', meta_keys={{_base_.meta_keys}}),
]
# Loading 128 px images is cheap: in-process loading avoids competing for the 2 cores.
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[45, 55],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=10, max_keep_ckpts=2))
log_processor = dict(window_size=25)
randomness = dict(seed=0)
