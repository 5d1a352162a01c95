# A light CenterNet as the TensorFlow version's YOLOv3 model (xggIoU/
# centernet_tensorflow_wilderface_voc, yolov3_centernet_V2.py): DarkNet-53 (mmdet's, from
# mmdet's ImageNet DarkNet-53, the YOLOv3 configs' 'open-mmlab://darknet53'), no DCN,
# CenterNet heads (3x3 conv 256 + 1x1), Pascal VOC at 512, batch 8, about 18 epochs with
# Adam. Published: 25.53 ms per 512 x 512 image on a GTX 1080 Ti (no AP; the TF version
# trained on VOC2012 trainval).
# Differences: the TF version keeps YOLOv3's neck (concatenating up-sampling blocks) and
# predicts at stride 8; here the levels of strides 4-32 are fused top-down as the
# ShuffleNetV2 model's (256 channels, 4x4 transposed convs, 1x1 laterals) to CenterNet's
# stride 4, with an offset branch, on VOC 07+12 with CenterNet's augmentation, VOC07 test.
_base_ = [
    '../_base_/models/centernet_light_fpn.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_70e.py', '../_base_/default_runtime.py'
]
model = dict(
    # mmdet's DarkNet-53 ImageNet weights take RGB in 0-1 (its YOLOv3: mean 0, std 255)
    data_preprocessor=dict(mean=[0, 0, 0], std=[255., 255., 255.]),
    backbone=dict(_delete_=True, type='mmdet.Darknet', depth=53, out_indices=(2, 3, 4, 5),
                  norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[128, 256, 512, 1024]),
    bbox_head=dict(codec=dict(num_classes=20, max_objs={{_base_.voc_max_objs}})),
    init_cfg=dict(checkpoint='https://download.openmmlab.com/pretrain/third_party/'
                  'darknet53-a628ea1b.pth', mapping=None))
train_dataloader = dict(batch_size=8)

max_epochs = 18
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[12, 16],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
