# Official Pascal VOC recipe: 70 epochs, lr x0.1 at epochs 45 and 60.
_base_ = './schedule_140e.py'
max_epochs = 70
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[45, 60],
         gamma=0.1)
]
