# WIDER FACE with RetinaFace's five landmarks: train on RetinaFace's train/label.txt
# (retinaface_gt_v1.1), validate on the official val split (wider_face_split/
# wider_face_val_bbx_gt.txt lists the images) with the official easy / medium / hard AP
# (eval_tools/ground_truth/*.mat). Layout under data_root:
#   WIDER_train/images/<event>/*.jpg   WIDER_val/images/<event>/*.jpg
#   retinaface_gt/train/label.txt      wider_face_split/wider_face_val_bbx_gt.txt
#   eval_tools/ground_truth/wider_face_val.mat, wider_{easy,medium,hard}_val.mat
dataset_type = 'WiderFaceDataset'
data_root = 'data/WIDERFace/'
backend_args = None
# The landmark set as data (also what CocoPoseDataset needs for face landmarks in COCO
# format, see toy_face.py). "left" is the image's left, as RetinaFace labels them, so a
# mirror swaps the eyes and the mouth corners. The sigmas (for an OKS, unused by the WIDER
# FACE metric) are COCO's eye / nose constants.
metainfo = dict(
    classes=('face', ),
    keypoint_names=('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth'),
    flip_indices=[1, 0, 2, 4, 3],
    skeleton=[],
    sigmas=[0.025, 0.025, 0.026, 0.025, 0.025],
    keypoint_colors=[[0, 128, 255], [255, 128, 0], [0, 255, 0], [0, 128, 255],
                     [255, 128, 0]])
# flip_indices travels with each image (CenterAffine's flip, the flip test)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'affine_matrix', 'flip_indices')
input_size = (512, 512)
# MindSpore's CenterFace recipe: crops of 0.6-1.0 of the long side at 512 (its 512 setting),
# flip, colour + PCA lighting. (Its PyramidBox data-anchor sampling is not reproduced.)
random_scales = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales=random_scales, border=128,
         flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
# Single-scale test on the original image (CenterFace's "SIO" protocol), padded to 32.
test_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=32),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
# --tta: the multi-scale + flip test of CenterFace's published figures. CenterFace does not
# publish its scales; these are CenterNet's, merged with gaussian soft-NMS as the MindSpore
# port merges its scales.
tta_scales = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackCenterNetInputs', meta_keys=meta_keys)]])
]
tta_model = dict(type='CenterNetTTAModel', flip=True, merge='official', soft_nms=dict(
                 iou_threshold=0.5, sigma=0.5, min_score=0.001, method='gaussian'),
                 max_per_img=1000)

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='retinaface_gt/train/label.txt', ann_format='retinaface',
                 data_prefix=dict(img='WIDER_train/images/'),
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline,
                 backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='wider_face_split/wider_face_val_bbx_gt.txt', ann_format='official',
                 data_prefix=dict(img='WIDER_val/images/'), test_mode=True,
                 pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='WiderFaceMetric', gt_dir=data_root + 'eval_tools/ground_truth/')
test_evaluator = val_evaluator
