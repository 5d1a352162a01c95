# Keypoint Triplets, CenterNet511-52 (Duankaiwen/CenterNet config/CenterNet-52.json): one
# stack of the same hourglass (StackedHourglassNet), otherwise the CenterNet511-104 recipe.
# COCO val2017 (paper: minival2014): 41.3 AP; test-dev 41.6 (43.5 multi-scale).
_base_ = ['./centernet-triplet_hg104_8xb6-crop511-480k_coco.py']
model = dict(
    backbone=dict(type='StackedHourglassNet', num_stacks=1),
    bbox_head=dict(num_stacks=1))
