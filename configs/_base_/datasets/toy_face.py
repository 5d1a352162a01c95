# The bundled toy face set (tools/misc/gen_toy_face.py): 128x128 images of cartoon faces
# with RetinaFace's five landmarks, in COCO keypoint format (CocoPoseDataset with the face
# landmark metainfo of wider_face.py). The generator also writes the val split as WIDER
# FACE ground truth, so the official easy / medium / hard protocol runs on it too (the
# toy's settings go by face height).
_base_ = './wider_face.py'
data_root = 'data/toy_face/'
input_size = (128, 128)
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales=[0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3],
         border=128, flip_prob=0.5),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in (0.75, 1.0, 1.25)],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackCenterNetInputs', meta_keys=meta_keys)]])
]
tta_model = dict(max_per_img=100)
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(_delete_=True, type='CocoPoseDataset', data_root=data_root,
                 metainfo={{_base_.metainfo}}, ann_file='annotations/face_landmarks_train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(_delete_=True, type='CocoPoseDataset', data_root=data_root,
                 metainfo={{_base_.metainfo}}, ann_file='annotations/face_landmarks_val.json',
                 data_prefix=dict(img='val/'), test_mode=True,
                 pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
# COCO box AP (AP50 among them), the landmarks' box-normalised error, and the WIDER FACE
# protocol on the toy's .mat ground truth.
val_evaluator = [
    dict(type='CenterNetCocoMetric', ann_file=data_root + 'annotations/face_landmarks_val.json',
         metric='bbox'),
    dict(type='FaceLandmarkMetric'),
    dict(type='WiderFaceMetric', gt_dir=data_root + 'annotations/wider_gt/'),
]
test_evaluator = val_evaluator
