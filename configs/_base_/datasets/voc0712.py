# Pascal VOC 07+12 trainval -> VOC07 test, as the official CenterNet. The official code reads
# a COCO-format json of the XMLs; CenterNetVOCDataset reads the XMLs and gives the same training
# boxes ([xmin-1, ymin-1, xmax, ymax]) and, like the official loader, trains difficult objects
# as positives (box_convention / difficult options; mmdet's VOCDataset does neither).
_base_ = './centernet_pipelines.py'
dataset_type = 'CenterNetVOCDataset'
# The official Pascal dataset normalises with the ImageNet RGB mean/std (0-1 values) applied
# to the BGR image as read by cv2, unlike COCO's own BGR statistics. Models put this into
# their data_preprocessor (see the VOC configs).
voc_data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                             bgr_to_rgb=False)
voc_max_objs = 50  # official pascal.py (COCO: 128)
data_root = 'data/VOCdevkit/'
backend_args = None
_fixed_test = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', input_size=(512, 512)),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_type'],
        datasets=[
            dict(type=dataset_type, data_root=data_root,
                 ann_file='VOC2007/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=0, bbox_min_size=0),
                 pipeline={{_base_.train_pipeline}}, backend_args=backend_args),
            dict(type=dataset_type, data_root=data_root,
                 ann_file='VOC2012/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root='VOC2012/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=0, bbox_min_size=0),
                 pipeline={{_base_.train_pipeline}}, backend_args=backend_args)
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True, pipeline=_fixed_test, backend_args=backend_args))
test_dataloader = val_dataloader
# VOC07 11-point mAP at IoU 0.5, as the official evaluation.
val_evaluator = dict(type='mmdet.VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# The official VOC results are flip-tested at the fixed 512 input (test.py --flip_test):
# tools/test.py CONFIG CKPT --tta runs exactly that protocol (one scale, no soft-NMS).
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', input_size=(512, 512))],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='LoadAnnotations', with_bbox=True)],
                     [dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}})]])
]
tta_model = dict(type='CenterNetTTAModel', flip=True, merge='official', max_per_img=100)
