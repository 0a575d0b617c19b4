"""Small synthetic data sets in the COCO, MPII and Cityscapes formats, generated
deterministically (``python -m litehrnet_mm.datasets.synthetic.pose``, ``... .cityscapes``)."""
