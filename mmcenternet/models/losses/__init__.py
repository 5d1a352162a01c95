from .bin_rot_loss import BinRotLoss
from .centernet_losses import CenterNetFocalLoss, RegL1Loss, RegSmoothL1Loss
from .pull_push_loss import PullPushLoss

__all__ = ['BinRotLoss', 'CenterNetFocalLoss', 'PullPushLoss', 'RegL1Loss', 'RegSmoothL1Loss']
