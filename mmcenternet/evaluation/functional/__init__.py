from .widerface import (GT_FILES, SETTINGS, WiderGroundTruth, WiderGroundTruthError,
                        evaluate_widerface, load_wider_ground_truth, write_wider_ground_truth)

__all__ = ['GT_FILES', 'SETTINGS', 'WiderGroundTruth', 'WiderGroundTruthError',
           'evaluate_widerface', 'load_wider_ground_truth', 'write_wider_ground_truth']
