# Official experiments/ddd_3dop.sh: DLA-34 ddd on the KITTI 3DOP split, batch 16 (2 GPUs),
# Adam lr 1.25e-4, 70 epochs, lr x0.1 at 45 and 60.
_base_ = [
    '../_base_/models/centernet_dla34-dcnv2_ddd.py', '../_base_/datasets/kitti_mono3d.py',
    '../_base_/schedules/schedule_70e.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8)  # x 2 GPUs = the official 16
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.25e-4))
auto_scale_lr = dict(base_batch_size=16)
