# The bundled toy pose set (tools/misc/gen_toy_pose.py): 128x128 images of stick figures with
# the 17 COCO joints in COCO keypoint format, so everything but the paths and the input size
# comes from the COCO keypoints base.
_base_ = './coco_keypoints.py'
data_root = 'data/toy_pose/'
input_size = (128, 128)
meta_keys = {{_base_.meta_keys}}

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales={{_base_.random_scales}},
         border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in (0.75, 1.0, 1.25)],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackCenterNetInputs', meta_keys=meta_keys)]])
]

# All images are square: plain batches instead of the COCO base's aspect-ratio grouping.
train_dataloader = dict(
    num_workers=2,
    batch_sampler=None,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/')))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='CocoKeypointMetric', ann_file=data_root + 'annotations/person_keypoints_val.json'),
    dict(type='mmdet.CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val.json',
         metric='bbox'),
]
test_evaluator = val_evaluator
