"""Small synthetic data sets in the layouts of the real ones (COCO, MPII, COCO-WholeBody and
its hands and faces, OneHand10K, RHD, FreiHAND, WFLW, 300W, COFW, AP-10K, Animal-Pose,
Macaque, a custom 5-keypoint set, Cityscapes), generated deterministically:
``python -m litehrnet_mm.datasets.synthetic --task NAME`` (:mod:`.tasks`),
``python -m litehrnet_mm.datasets.synthetic.cityscapes``."""
