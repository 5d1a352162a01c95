# Official ctdet hourglass on COCO: 40.3 AP / 42.2 flip / 45.1 multi-scale.
# Official run (experiments/ctdet_coco_hg.sh): batch 24, lr 2.5e-4, 50 epochs, drop at 40;
# the backbone starts from the ExtremeNet model (see the base model config and README.md).
_base_ = [
    '../_base_/models/centernet_hg104.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_50e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=3)
# Hourglass inputs are padded to a multiple of 128 at test time (official opt.pad = 127).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=128),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(data_preprocessor=dict(pad_size_divisor=128))
# --tta: the same 128 padding at every scale, so the mirrored maps line up (the TTA model
# also crops each view's maps to its own input before merging).
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=128, scale_ratio=s)
                      for s in (0.5, 0.75, 1.0, 1.25, 1.5)],  # official test scales
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}})]])
]
