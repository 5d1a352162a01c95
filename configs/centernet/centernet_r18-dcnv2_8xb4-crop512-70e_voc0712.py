# Official ctdet resdcn_18 on Pascal VOC 07+12 at 512 (experiments/ctdet_pascal_resdcn18_512.sh):
# 75.7 mAP (VOC07 test). Official batch 32 (default), lr 1.25e-4, 70 epochs, drops at 45, 60.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_70e.py', '../_base_/default_runtime.py'
]
num_classes = 20
model = dict(bbox_head=dict(branches=dict(heatmap=dict(out_channels=num_classes)),
                            encoder=dict(num_classes=num_classes)))
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.25e-4))
auto_scale_lr = dict(base_batch_size=32)
