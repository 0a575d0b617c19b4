"""A pipeline step that refuses segmentation labels a model would silently mis-learn."""
import numpy as np
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Raise on label maps that do not fit the data set; put it right after LoadAnnotations.

    MMSeg does not check label ids: an id >= ``num_classes`` (other than ``ignore_index``)
    makes the cross-entropy fail deep inside training, and ``IoUMetric`` silently drops it from
    the counts. A label map whose size differs from its image's is cropped and resized out of
    step with it (compared with the image as loaded, ``ori_shape``, so the check may also follow
    a test pipeline's ``Resize``). Both are refused here, naming the files.

    Args:
        num_classes (int): Valid ids are 0 .. num_classes - 1.
        ignore_index (int): The id of unlabelled pixels. Default: 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'CheckSegLabels: num_classes must be a positive int, got '
                             f'{num_classes!r}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None and results.get('seg_map_path') is None:
            return results  # no labels at all: inference (MMSeg drops LoadAnnotations there)
        if seg is None:
            raise ValueError(f"CheckSegLabels needs 'gt_seg_map': put it after LoadAnnotations "
                             f"(image {results.get('img_path')})")
        # the image as loaded: MMSeg's test pipelines resize the image before loading the
        # labels, on purpose (predictions are resized back to the original size)
        img_shape = tuple(results.get('ori_shape') or results['img'].shape[:2])
        if tuple(seg.shape[:2]) != img_shape:
            raise ValueError(f"label map {results.get('seg_map_path')} is {seg.shape[1]}x"
                             f"{seg.shape[0]} but its image {results.get('img_path')} is "
                             f'{img_shape[1]}x{img_shape[0]}')
        ids = np.unique(seg)
        bad = [int(i) for i in ids if i != self.ignore_index and not 0 <= i < self.num_classes]
        if bad:
            raise ValueError(f"label map {results.get('seg_map_path')} has ids {bad} outside "
                             f'0..{self.num_classes - 1} (ignore index {self.ignore_index}); '
                             f'Cityscapes label maps must hold train ids '
                             f'(*_gtFine_labelTrainIds.png)')
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
