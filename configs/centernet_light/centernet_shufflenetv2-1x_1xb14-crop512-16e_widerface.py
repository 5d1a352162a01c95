# The TF version's ShuffleNetV2-1.0x face model (configs/_base_/models/centernet_light_fpn.py)
# on the face boxes of WIDER FACE (the official box files, no landmarks) at 512, batch 14,
# about 16 epochs with Adam (2.5e-4, x0.85 every 2200 iterations), as its README and cfg.py.
# Published: 21.37 ms per 512 x 512 image on a GTX 1080 Ti (no AP).
# Differences: the TF version's SE / spatial-attention block after the fusion is left out,
# and the training uses CenterNet's affine crop / flip / colour augmentation (the TF
# version trained without augmentation).
_base_ = [
    '../_base_/models/centernet_light_fpn.py', '../_base_/datasets/wider_face.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
model = dict(bbox_head=dict(codec=dict(max_objs=512, topk=1000)),
             test_cfg=dict(score_thr=0.01))
# boxes only: the official box files (invalid faces ignored), no landmark pipeline
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}},
         random_scales={{_base_.random_scales}}, border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=14,
    dataset=dict(ann_file='wider_face_split/wider_face_train_bbx_gt.txt',
                 ann_format='official', pipeline=train_pipeline))

max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = [dict(type='StepLR', step_size=2200, gamma=0.85, by_epoch=False)]
auto_scale_lr = dict(base_batch_size=14)
