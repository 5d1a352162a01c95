# Beyond the official code: ONE model that detects the 80 COCO classes and estimates the pose
# of people in the same pass: the ctdet heatmap over 80 classes plus the multi_pose branches
# (kps, kp_heatmap, kp_offset), which learn from the person annotations only. Boxes come from
# instances_*.json, joints from person_keypoints_*.json (joined by annotation id); only people
# without labelled joints lose the box size loss (official multi_pose rule), other classes
# keep theirs. Evaluated with the 80-class box AP and the person keypoint AP.
# Recipe: the DLA-34 1x pose recipe (batch 128, lr 5e-4, 140 epochs, drops at 90/120), with
# the ctdet object slots (max_objs 128).
_base_ = ['./centernet_dla34-dcnv2_8xb16-crop512-140e_coco-keypoints.py']
classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
    'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
    'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet',
    'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush'
)
metainfo = dict(classes=classes, keypoint_classes=('person', ))
model = dict(bbox_head=dict(
    codec=dict(num_classes=len(classes), max_objs=128, keypoint_labels=[0])))
data_root = 'data/coco/'
train_dataloader = dict(dataset=dict(
    metainfo=metainfo, ann_file='annotations/instances_train2017.json',
    keypoint_ann_file='annotations/person_keypoints_train2017.json'))
val_dataloader = dict(dataset=dict(
    metainfo=metainfo, ann_file='annotations/instances_val2017.json',
    keypoint_ann_file='annotations/person_keypoints_val2017.json'))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoKeypointMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json'),
    dict(type='mmdet.CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json',
         metric='bbox'),
]
test_evaluator = val_evaluator
