# Official Hourglass-104 recipe: 50 epochs, lr x0.1 at epoch 40 (batch 24, lr 2.5e-4).
_base_ = './schedule_140e.py'
max_epochs = 50
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[40],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=24)
