# CenterNet511-52 with Duan's multi-scale test (config/CenterNet-52-multi_scale.json); see
# centernet-triplet_hg104_8xb6-crop511-480k-mstest_coco.py. Run with --tta.
# COCO test-dev (paper): 43.5 AP.
_base_ = ['./centernet-triplet_hg104_8xb6-crop511-480k-mstest_coco.py']
model = dict(
    backbone=dict(type='StackedHourglassNet', num_stacks=1),
    bbox_head=dict(num_stacks=1))
