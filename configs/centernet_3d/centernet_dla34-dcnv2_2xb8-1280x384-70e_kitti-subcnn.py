# Official experiments/ddd_sub.sh: as the 3DOP config, on the SubCNN split.
_base_ = './centernet_dla34-dcnv2_2xb8-1280x384-70e_kitti-3dop.py'
split_dir = 'ImageSets_subcnn'
train_dataloader = dict(dataset=dict(ann_file=split_dir + '/train.txt'))
val_dataloader = dict(dataset=dict(ann_file=split_dir + '/val.txt'))
test_dataloader = val_dataloader
