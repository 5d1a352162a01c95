# CenterNet511-104 with Duan's multi-scale test (config/CenterNet-104-multi_scale.json):
# scales 0.6, 1, 1.2, 1.5, 1.8, each with its mirror; the candidates of all scales are pooled
# and tested against the center keypoints of scale 1. Duan merges with soft_nms_merge
# (weight_exp 10); TripletTTAModel uses gaussian soft-NMS (README.md). Run with --tta.
# COCO test-dev (paper): 47.0 AP.
_base_ = ['./centernet-triplet_hg104_8xb6-crop511-480k_coco.py']
tta_scales = [0.6, 1.0, 1.2, 1.5, 1.8]
meta_keys = {{_base_.meta_keys}}
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=128, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackDetInputs', meta_keys=meta_keys)]])
]
