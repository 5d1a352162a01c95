# The bundled toy KITTI-format set (tools/misc/gen_toy_kitti.py): 1242 x 375 images of cars
# and pedestrians on a road, a real KITTI P2, labels as KITTI writes them.
_base_ = './kitti_mono3d.py'
data_root = 'data/toy_kitti/'
classes = ('Car', 'Pedestrian')
metainfo = dict(classes=classes)
split_dir = 'ImageSets'
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo,
                                     ann_file=split_dir + '/train.txt'))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo,
                                   ann_file=split_dir + '/val.txt'))
test_dataloader = val_dataloader
