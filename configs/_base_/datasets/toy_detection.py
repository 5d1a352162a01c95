# The bundled toy set (tools/misc/gen_toy_dataset.py): 128x128 images of 4 shape classes in
# COCO format, so everything but the paths, classes and input size comes from the COCO base.
_base_ = './coco_detection.py'
data_root = 'data/toy/'
classes = ('circle', 'square', 'triangle', 'cross')
metainfo = dict(classes=classes)
input_size = (128, 128)
meta_keys = {{_base_.meta_keys}}

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales={{_base_.random_scales}},
         border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in (0.75, 1.0, 1.25)],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackDetInputs', meta_keys=meta_keys)]])
]

# All images are square: plain batches instead of the COCO base's aspect-ratio grouping.
train_dataloader = dict(
    num_workers=2,
    batch_sampler=None,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_val.json', data_prefix=dict(img='val/')))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
