"""Training annotations as the official CenterNet sees them (COCO crowd, VOC json layout)."""
import json

import numpy as np
import pytest

from mmcenternet.registry import DATASETS

VOC_XML = ('<annotation><size><width>100</width><height>80</height></size>{}</annotation>')
VOC_OBJ = ('<object><name>{}</name><difficult>{}</difficult><bndbox><xmin>{}</xmin>'
           '<ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>')


def voc_root(tmp_path):
    root = tmp_path / 'VOCdevkit'
    (root / 'VOC2007' / 'Annotations').mkdir(parents=True)
    (root / 'VOC2007' / 'ImageSets' / 'Main').mkdir(parents=True)
    (root / 'VOC2007' / 'ImageSets' / 'Main' / 'trainval.txt').write_text('000012\n')
    objects = (VOC_OBJ.format('car', 0, 156, 97, 351, 270) +      # fastai's 000012 example
               VOC_OBJ.format('person', 1, 10, 20, 30, 60) +      # difficult
               VOC_OBJ.format('unicorn', 0, 1, 1, 5, 5))          # not a VOC class
    (root / 'VOC2007' / 'Annotations' / '000012.xml').write_text(VOC_XML.format(objects))
    return str(root) + '/'


def voc(tmp_path, **kwargs):
    return DATASETS.build(dict(type='CenterNetVOCDataset', data_root=voc_root(tmp_path),
                               ann_file='VOC2007/ImageSets/Main/trainval.txt',
                               data_prefix=dict(sub_data_root='VOC2007/'), pipeline=[],
                               **kwargs))


def test_voc_training_boxes_and_difficult_objects_as_the_official_json(tmp_path):
    """The COCO-format PASCAL json has car 000012 as [155, 96, 196, 174] (xywh): xyxy
    [155, 96, 351, 270]; difficult objects are in it (flag "ignore", never read)."""
    inst = voc(tmp_path).get_data_info(0)['instances']
    assert [i['bbox'] for i in inst] == [[155, 96, 351, 270], [9, 19, 30, 60]]
    assert [i['ignore_flag'] for i in inst] == [0, 0]


def test_voc_mmdet_behaviour_is_an_option(tmp_path):
    inst = voc(tmp_path, difficult='ignore', box_convention='mmdet').get_data_info(0)
    assert [i['bbox'] for i in inst['instances']] == [[155, 96, 350, 269], [9, 19, 29, 59]]
    assert [i['ignore_flag'] for i in inst['instances']] == [0, 1]


def test_voc_test_mode_keeps_what_the_voc_metric_expects(tmp_path):
    inst = voc(tmp_path, test_mode=True).get_data_info(0)['instances']
    assert [i['bbox'] for i in inst] == [[155, 96, 350, 269], [9, 19, 29, 59]]
    assert [i['ignore_flag'] for i in inst] == [0, 1]


def test_voc_bad_option_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='difficult must be one of'):
        voc(tmp_path, difficult='maybe')


def coco(tmp_path, **kwargs):
    data = dict(images=[dict(id=1, file_name='a.png', width=50, height=40)],
                annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 2, 10, 10],
                                  iscrowd=0),
                             dict(id=2, image_id=1, category_id=1, bbox=[5, 5, 30, 20],
                                  iscrowd=1)],
                categories=[dict(id=1, name='person')])
    (tmp_path / 'ann.json').write_text(json.dumps(data))
    return DATASETS.build(dict(type='CenterNetCocoDataset', data_root=str(tmp_path),
                               ann_file='ann.json', pipeline=[],
                               metainfo=dict(classes=('person', )), **kwargs))


def test_coco_crowd_boxes_train_as_positives_like_the_official_sample(tmp_path):
    flags = [i['ignore_flag'] for i in coco(tmp_path).get_data_info(0)['instances']]
    assert flags == [0, 0]


@pytest.mark.parametrize('kwargs', [dict(crowd='ignore'), dict(test_mode=True)])
def test_coco_crowd_flagged_for_mmdet_behaviour_and_evaluation(tmp_path, kwargs):
    flags = [i['ignore_flag'] for i in coco(tmp_path, **kwargs).get_data_info(0)['instances']]
    assert flags == [0, 1]


def test_coco_bad_crowd_option(tmp_path):
    with pytest.raises(ValueError, match="crowd must be one of"):
        coco(tmp_path, crowd='sometimes')
