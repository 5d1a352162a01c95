# Keypoint Triplets, CenterNet511-104 (Duan et al., 2019; Duankaiwen/CenterNet
# config/CenterNet-104.json): Hourglass-104, batch 48 (8 GPUs x 6), Adam 2.5e-4,
# 480k iterations with lr / 10 at 450k, 511 x 511 random crops.
# COCO val2017 (paper: minival2014, the same images): 44.8 AP; test-dev 44.9 (47.0 multi-scale).
_base_ = [
    '../_base_/models/centernet-triplet_hg104.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_480k.py', '../_base_/default_runtime.py'
]
meta_keys = {{_base_.meta_keys}}

# Duan's kp_detection sampling: a random (511 x scale) window (scales 0.6 ... 1.3) centred
# at least 128 px (less for small images) inside the image, resized to 511, flipped with
# probability 0.5, colour jitter + PCA lighting. Differences (see README.md): one affine warp
# instead of crop + cv2.resize, and the official CenterNet flip convention x -> w - 1 - x of
# the original image. Boxes are clipped to the crop and empty ones dropped by the codec,
# as Duan's _clip_detections.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=(511, 511), crop_size=511,
         random_scales={{_base_.random_scales}}, border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
# Duan's test input: the image at its size, centred in an (h | 127) x (w | 127) canvas
# (128k - 1); here a 128k canvas (a 1-pixel larger pad: same network, stride exactly 4).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=128),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
# --tta: Duan's "single-scale" test (the paper's numbers), the image and its mirror decoded
# separately and their corner pairs pooled before the central-region test.
tta_scales = [1.0]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=128, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackDetInputs', meta_keys=meta_keys)]])
]
tta_model = dict(_delete_=True, type='TripletTTAModel', flip=True, center_scale=1.0)

train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    batch_sampler=None,  # all inputs are 511 x 511
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# iteration-based logs and checkpoints (Duan snapshots every 5k iterations)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000))
log_processor = dict(by_epoch=False)
