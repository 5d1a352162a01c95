# CenterFace (Xu et al. 2019) on WIDER FACE with RetinaFace's five landmarks. The release
# (Star-Clouds/CenterFace) has no training code; the recipe is the one of MindSpore's model
# zoo port (model_zoo/official/cv/centerface: 8 devices x 8 images at 512, Adam, lr 4e-3,
# weight decay 5e-4, 140 epochs with x0.1 at 90 and 120, MobileNetV2 from torchvision's
# ImageNet weights). Published WIDER FACE val AP (easy / medium / hard): CenterFace
# 0.935 / 0.924 / 0.875 with multi-scale + flip test (`tools/test.py ... --tta`), 0.922 /
# 0.911 / 0.782 single-scale on the original image (`tools/test.py ... --eval widerface`).
_base_ = [
    '../_base_/models/centerface_mobilenetv2.py', '../_base_/datasets/wider_face.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=4e-3, weight_decay=5e-4))
auto_scale_lr = dict(base_batch_size=64)
# mmdet's MobileNetV2 runs its unused final 1x1 conv (see the model base)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
