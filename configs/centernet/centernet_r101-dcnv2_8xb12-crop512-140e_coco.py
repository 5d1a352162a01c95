# Official ctdet resdcn_101 on COCO: 34.6 AP / 36.2 flip / 39.3 multi-scale.
# Official run: batch 96, lr 3.75e-4 (= 1.25e-4 per 32) -> 8 GPUs x 12.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(depth=101),
    neck=dict(in_channels=2048),
    # resnet_dcn.py model_urls['resnet101'] (torchvision ImageNet, PyTorch 0.1 .tar file)
    init_cfg=dict(checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth'))
train_dataloader = dict(batch_size=12)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3.75e-4))
auto_scale_lr = dict(base_batch_size=96)
