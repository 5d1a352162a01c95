# Official CenterNet "2x": 230 epochs, lr x0.1 at epochs 180 and 210.
_base_ = './schedule_140e.py'
max_epochs = 230
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[180, 210],
         gamma=0.1)
]
