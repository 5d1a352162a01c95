# The bundled toy face set (tools/misc/gen_toy_face.py): 128x128 images of cartoon faces
# with RetinaFace's five landmarks, in COCO keypoint format. Everything but the paths, the
# landmark set and the evaluation comes from the toy pose base (its keypoint pipelines at
# 128 px). The generator also writes the val split as WIDER FACE ground truth, so the
# official easy / medium / hard protocol runs on it (the toy's settings go by face height).
_base_ = './toy_pose.py'
data_root = 'data/toy_face/'
# the landmark set as data (WiderFaceDataset.METAINFO, for CocoPoseDataset): "left" is the
# image's left, as RetinaFace labels them, so a mirror swaps the eyes and the mouth
# corners; the sigmas (for an OKS, unused here) are COCO's eye / nose constants
face_metainfo = dict(
    classes=('face', ),
    keypoint_names=('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth'),
    flip_indices=[1, 0, 2, 4, 3],
    skeleton=[],
    sigmas=[0.025, 0.025, 0.026, 0.025, 0.025],
    keypoint_colors=[[0, 128, 255], [255, 128, 0], [0, 255, 0], [0, 128, 255],
                     [255, 128, 0]])
metainfo = dict(_delete_=True, **face_metainfo)
train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(_delete_=True, **face_metainfo),
                 ann_file='annotations/face_landmarks_train.json'))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(_delete_=True, **face_metainfo),
                 ann_file='annotations/face_landmarks_val.json'))
test_dataloader = val_dataloader
# COCO box AP (AP50 among them), the landmarks' box-normalised error, and the WIDER FACE
# protocol on the toy's .mat ground truth
val_evaluator = [
    dict(type='CenterNetCocoMetric', ann_file=data_root + 'annotations/face_landmarks_val.json',
         metric='bbox'),
    dict(type='FaceLandmarkMetric'),
    dict(type='WiderFaceMetric', gt_dir=data_root + 'annotations/wider_gt/'),
]
test_evaluator = val_evaluator
