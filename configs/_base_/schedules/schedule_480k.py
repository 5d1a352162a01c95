# Keypoint Triplets (Duan's CenterNet-52/-104.json): Adam, lr 2.5e-4 for batch 48,
# 480k iterations, lr / 10 at 450k. (Configs using it also set iteration-based
# checkpoints and logs: default_runtime.py is epoch-based.)
max_iters = 480000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=40000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# GuardedOptimWrapper: mmengine's OptimWrapper that can skip a step (model.non_finite_loss='skip')
optim_wrapper = dict(type='GuardedOptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[450000],
         gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=48)
