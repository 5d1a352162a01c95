_base_ = './centernet_pipelines.py'
dataset_type = 'CenterNetCocoDataset'
data_root = 'data/coco/'
backend_args = None

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        # the official COCO training set is every image of the file, those without
        # annotations too (pure negatives), so nothing is filtered
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline={{_base_.train_pipeline}},
        backend_args=backend_args))
# The official evaluation runs one image at a time at its own resolution (--keep_res).
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}},
        backend_args=backend_args))
test_dataloader = val_dataloader

# mmdet's CocoMetric with the ground truth the val dataset kept (cleaned boxes) instead of the
# raw file; ann_file is only read when the metric runs outside tools/train.py / tools/test.py.
val_evaluator = dict(
    type='CenterNetCocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
