# COCO person keypoints as the official multi_pose (dataset coco_hp): person_keypoints_*.json,
# 17 joints, crowd regions and people without labelled joints kept as objects, training on
# the images with at least one person; evaluation of the keypoints (OKS AP) and the person
# boxes. The official pipeline otherwise: 512 affine crops, flip with COCO's left/right
# pairs, colour + PCA lighting; test at the image's own size (--keep_res).
_base_ = './coco_detection.py'
dataset_type = 'CocoPoseDataset'
data_root = 'data/coco/'
backend_args = None

# The keypoint set as data (a custom set changes this dict and the codec's num_keypoints,
# which sizes the branches; see configs/centernet_pose/README.md). flip_indices[k] is the
# joint that joint k becomes in a mirror image; skeleton pairs are 0-based; sigmas are
# COCO's OKS constants.
metainfo = dict(
    classes=('person', ),
    keypoint_names=('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                    'right_knee', 'left_ankle', 'right_ankle'),
    flip_indices=[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
    skeleton=[[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6],
              [5, 7], [6, 8], [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4],
              [3, 5], [4, 6]],
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
            0.107, 0.107, 0.087, 0.087, 0.089, 0.089],
    # left joints/limbs blue, right orange, centre green (RGB)
    keypoint_colors=[[0, 255, 0]] + [[0, 128, 255], [255, 128, 0]] * 8,
    skeleton_colors=[[255, 128, 0], [255, 128, 0], [0, 128, 255], [0, 128, 255],
                     [0, 255, 0], [255, 128, 0], [0, 128, 255], [0, 255, 0],
                     [255, 128, 0], [0, 128, 255], [255, 128, 0], [0, 128, 255],
                     [0, 255, 0], [0, 255, 0], [0, 255, 0], [0, 255, 0], [0, 255, 0],
                     [0, 255, 0], [0, 255, 0]])
# flip_indices travels with each image (CenterAffine's flip, the flip test)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'affine_matrix', 'flip_indices')
input_size = (512, 512)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales={{_base_.random_scales}},
         border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=32),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
# --tta: the official flip test (heatmaps, sizes and joint maps averaged with the mirrored
# image, joints swapped by flip_indices), and multi-scale merged with soft-NMS.
# the scales as a value: mmengine's {{_base_.x}} is a placeholder string inside a
# comprehension, which would iterate over its characters
tta_scales = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackCenterNetInputs', meta_keys=meta_keys)]])
]

train_dataloader = dict(
    dataset=dict(type=dataset_type, metainfo=metainfo,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, metainfo=metainfo,
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='CocoKeypointMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json'),
    dict(type='mmdet.CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json',
         metric='bbox', backend_args=backend_args),
]
test_evaluator = val_evaluator
