# Official ctdet dla_34 on Pascal VOC 07+12 at 512 (experiments/ctdet_pascal_dla_512.sh):
# 80.7 mAP on VOC07 test with flip test (`tools/test.py ... --tta`, fixed 512 input).
# Official run: 2 GPUs (--gpus 0,1), batch 32, lr 1.25e-4, 70 epochs, drops at 45 and 60.
_base_ = [
    '../_base_/models/centernet_dla34-dcnv2.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_70e.py', '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor={{_base_.voc_data_preprocessor}},
    bbox_head=dict(codec=dict(num_classes=20, max_objs={{_base_.voc_max_objs}})))
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.25e-4))
auto_scale_lr = dict(base_batch_size=32)
