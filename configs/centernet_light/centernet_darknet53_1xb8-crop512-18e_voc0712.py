# A light CenterNet as the TensorFlow version's YOLOv3 model (xggIoU/
# centernet_tensorflow_wilderface_voc, yolov3_centernet_V2.py): DarkNet-53 (mmdet's, from
# mmdet's ImageNet DarkNet-53, the YOLOv3 configs' 'open-mmlab://darknet53'), no DCN,
# CenterNet heads (3x3 conv 256 + 1x1), Pascal VOC at 512, batch 8, about 18 epochs with
# Adam. Published: 25.5 ms per 512 x 512 image on a GTX 1080 Ti (no AP; the TF version
# trained on VOC2012 trainval).
# Differences: the TF version keeps YOLOv3's neck (concatenating up-sampling blocks) and
# predicts at stride 8; here the levels of strides 4-32 are fused top-down (256 channels,
# 4x4 transposed convs, 1x1 laterals) to CenterNet's stride 4, with an offset branch, on VOC
# 07+12 with CenterNet's augmentation and VOC07 test.
_base_ = [
    '../_base_/datasets/voc0712.py', '../_base_/schedules/schedule_70e.py',
    '../_base_/default_runtime.py'
]
num_classes = 20
model = dict(
    type='CenterNet',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        # mmdet's DarkNet-53 ImageNet weights take RGB in 0-1 (YOLOv3's mean 0, std 255)
        mean=[0, 0, 0],
        std=[255., 255., 255.],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(type='mmdet.Darknet', depth=53, out_indices=(2, 3, 4, 5), norm_eval=False,
                  init_cfg=None),
    neck=dict(type='CenterNetFPNNeck', in_channels=[128, 256, 512, 1024], out_channels=256,
              deconv_kernel=4, top_conv=False, final_conv=False),
    bbox_head=dict(
        type='CenterNetHead',
        in_channels=256,
        feat_channels=256,
        init_scheme='resdcn',
        branches=dict(
            heatmap=dict(out_channels=num_classes, bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=0.1)),
            offset=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=1.0))),
        encoder=dict(type='CTDetEncoder', num_classes=num_classes, stride=4,
                     max_objs={{_base_.voc_max_objs}}),
        decoder=dict(type='CTDetDecoder', topk=100, kernel=3, stride=4)),
    train_cfg=None,
    test_cfg=dict(score_thr=0, nms=None),
    init_cfg=dict(type='PretrainedMapped',
                  checkpoint='https://download.openmmlab.com/pretrain/third_party/'
                  'darknet53-a628ea1b.pth',
                  mapping=None, module='backbone'))
train_dataloader = dict(batch_size=8)

max_epochs = 18
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[12, 16],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
