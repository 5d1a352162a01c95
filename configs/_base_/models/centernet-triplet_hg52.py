# Keypoint Triplets "CenterNet-52" (Duankaiwen/CenterNet models/CenterNet-52.py): one stack
# of the same hourglass. mmdet's HourglassNet would add an unused intermediate block for one
# stack, so this uses StackedHourglassNet (mmdet's class without it).
_base_ = './centernet-triplet_hg104.py'
model = dict(
    backbone=dict(type='StackedHourglassNet', num_stacks=1),
    bbox_head=dict(num_stacks=1))
