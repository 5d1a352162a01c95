# WIDER FACE with RetinaFace's five landmarks: train on RetinaFace's train/label.txt
# (retinaface_gt_v1.1), validate on the official val split (wider_face_split/
# wider_face_val_bbx_gt.txt lists the images) with the official easy / medium / hard AP
# (eval_tools/ground_truth/*.mat). Layout under data_root:
#   WIDER_train/images/<event>/*.jpg   WIDER_val/images/<event>/*.jpg
#   retinaface_gt/train/label.txt      wider_face_split/wider_face_val_bbx_gt.txt
#   eval_tools/ground_truth/wider_face_val.mat, wider_{easy,medium,hard}_val.mat
# The keypoint pipelines come from the COCO keypoints base (landmarks through the affine,
# left / right swapped on flips by the images' flip_indices, packed with
# PackCenterNetInputs); the landmark set is WiderFaceDataset's metainfo (left_eye,
# right_eye, nose, left_mouth, right_mouth, "left" being the image's left as RetinaFace
# labels them).
_base_ = './coco_keypoints.py'
dataset_type = 'WiderFaceDataset'
data_root = 'data/WIDERFace/'
metainfo = None  # the base's COCO person set does not apply: WiderFaceDataset.METAINFO
# MindSpore's CenterFace recipe: crops of 0.6-0.95 of the long side at 512 (its 512
# setting), flip, colour + PCA lighting. (Its PyramidBox data-anchor sampling is not
# reproduced.) The test: the original image padded to 32 (CenterFace's single-scale "SIO"
# protocol); --tta: the base's flip + scales 0.5-1.5 merged with gaussian soft-NMS (as the
# MindSpore port merges its scales; CenterFace does not publish its scales).
random_scales = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}}, random_scales=random_scales,
         border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackCenterNetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 ann_file='retinaface_gt/train/label.txt', ann_format='retinaface',
                 data_prefix=dict(img='WIDER_train/images/'),
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 ann_file='wider_face_split/wider_face_val_bbx_gt.txt', ann_format='official',
                 data_prefix=dict(img='WIDER_val/images/'), test_mode=True,
                 pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

val_evaluator = dict(_delete_=True, type='WiderFaceMetric',
                     gt_dir=data_root + 'eval_tools/ground_truth/')
test_evaluator = val_evaluator
tta_model = dict(max_per_img=1000)  # WIDER FACE has crowds
