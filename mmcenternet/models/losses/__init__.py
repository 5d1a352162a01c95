from .bin_rot_loss import BinRotLoss
from .centernet_losses import CenterNetFocalLoss, RegL1Loss

__all__ = ['BinRotLoss', 'CenterNetFocalLoss', 'RegL1Loss']
