# Official CenterNet "1x": Adam, 140 epochs, lr x0.1 at epochs 90 and 120.
# The lr is set per model config from the official batch size (1.25e-4 per 32 images).
max_epochs = 140
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# GuardedOptimWrapper: mmengine's OptimWrapper that can skip a step (model.non_finite_loss='skip')
optim_wrapper = dict(type='GuardedOptimWrapper', optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[90, 120],
         gamma=0.1)
]
# lr above is for the total batch below; --auto-scale-lr rescales it linearly.
auto_scale_lr = dict(enable=False, base_batch_size=128)
