from .check_seg_labels import CheckSegLabels

__all__ = ['CheckSegLabels']
