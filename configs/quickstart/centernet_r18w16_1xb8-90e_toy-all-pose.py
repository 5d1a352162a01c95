# The all-classes + person-pose model on toy data: the pose quickstart with the toy pose set
# generated with --with-shapes (python tools/misc/gen_toy_pose.py --with-shapes
# --out data/toy_pose_shapes), whose occluding shapes are annotated objects of four more
# classes. One heatmap over person + shapes, pose branches for people only; evaluated with
# the box AP of all five classes and the person keypoint AP (the toy counterpart of
# configs/centernet_pose/centernet_dla34-dcnv2_8xb16-crop512-140e_coco-all-classes-pose.py).
_base_ = ['./centernet_r18w16_1xb8-90e_toy-pose.py']
data_root = 'data/toy_pose_shapes/'
classes = ('person', 'circle', 'square', 'triangle', 'cross')
metainfo = dict(classes=classes, keypoint_classes=('person', ))
model = dict(bbox_head=dict(codec=dict(num_classes=len(classes), keypoint_labels=[0])))
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoKeypointMetric', ann_file=data_root + 'annotations/person_keypoints_val.json'),
    dict(type='mmdet.CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val.json',
         metric='bbox'),
]
test_evaluator = val_evaluator
