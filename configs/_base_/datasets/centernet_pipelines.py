# Official CenterNet data pipelines (512x512 affine input, official colour augmentation).
input_size = (512, 512)
random_scales = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]  # np.arange(0.6, 1.4, 0.1)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'affine_matrix')

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size=input_size, random_scales=random_scales, border=128,
         flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
# Official COCO evaluation (experiments/ctdet_coco_*.sh) tests with --keep_res: the image at
# its own size, padded to a multiple of 32. Pascal VOC tests at a fixed 512 (voc0712.py).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=32),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
# --tta: flip, and the official multi-scale set (0.5 ... 1.5) merged with soft-NMS.
tta_scales = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackDetInputs', meta_keys=meta_keys)]])
]
# merge='official' reproduces the official merge_outputs exactly (its Cython soft-NMS with +1
# IoU widths and stale rows, and its tie-keeping top-100 cut); 'clean' uses mmcv's soft-NMS.
tta_model = dict(type='CenterNetTTAModel', flip=True, merge='official', soft_nms=dict(
                 iou_threshold=0.5, sigma=0.5, min_score=0.001, method='gaussian'),
                 max_per_img=100)
