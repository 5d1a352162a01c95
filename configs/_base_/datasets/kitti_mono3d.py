# KITTI object (monocular 3D), read directly: training/{image_2,label_2,calib} + split files.
# Official ddd input: the whole image warped to 1280 x 384 (source square = image width);
# training: half of the images get a random scale (+-40 %) / shift (+-20 % of the image
# size) jitter, no flip, no colour augmentation (datasets/sample/ddd.py).
dataset_type = 'KittiMono3DDataset'
data_root = 'data/kitti/'
classes = ('Pedestrian', 'Car', 'Cyclist')
metainfo = dict(classes=classes)
input_size = (1280, 384)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'affine_matrix', 'cam2img', 'jittered', 'kitti_id',
             'label_path')
data_prefix = dict(img='training/image_2', label='training/label_2', calib='training/calib')
split_dir = 'ImageSets_3dop'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMono3DAnnotations'),
    dict(type='CenterAffine', input_size=input_size, shift=0.1, scale=0.4, jitter_prob=0.5,
         jitter_style='ddd'),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', input_size=input_size),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file=split_dir + '/train.txt', data_prefix=data_prefix,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file=split_dir + '/val.txt', data_prefix=data_prefix, test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# 2D AP / AOS / BEV AP / 3D AP, Easy / Moderate / Hard, R11 and R40, with the official
# evaluator's IoU thresholds (src/tools/kitti_eval); gt read from each sample's label file.
val_evaluator = dict(type='KittiMetric', metric='kitti')
test_evaluator = val_evaluator
