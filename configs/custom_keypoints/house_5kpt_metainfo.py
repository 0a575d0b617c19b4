# Metainfo of a custom keypoint set: the template for your own keypoints.
#
# MMPose reads a data set's keypoints from a file like this one (`metainfo=dict(from_file=...)`
# in the data set's config). This one describes the 5 corners of the house outlines that
# `python -m litehrnet_mm.datasets.synthetic --task custom` draws; for your own set, list
# your keypoints in the order of your annotation files:
#   keypoint_info: per keypoint its name, id (= its index), a colour for the visualizer, its
#     half of the object ('upper'/'lower', used by RandomHalfBody) and `swap`: the keypoint it
#     becomes in a horizontally flipped image ('' for keypoints on the axis of symmetry).
#   skeleton_info: the lines the visualizer draws between keypoints.
#   joint_weights: each keypoint's weight in the loss (KeypointMSELoss with
#     use_target_weight=True).
#   sigmas: each keypoint's falloff in COCO's OKS (CocoMetric's AP): larger for keypoints that
#     annotators place less precisely (COCO's range from 0.025 for eyes to 0.107 for hips).
dataset_info = dict(
    dataset_name='house_5kpt',
    paper_info=dict(author='litehrnet-mm', title='Synthetic house outlines', container='',
                    year='2026', homepage=''),
    keypoint_info={
        0: dict(name='apex', id=0, color=[255, 0, 0], type='upper', swap=''),
        1: dict(name='left_eave', id=1, color=[0, 255, 0], type='upper', swap='right_eave'),
        2: dict(name='right_eave', id=2, color=[0, 0, 255], type='upper', swap='left_eave'),
        3: dict(name='left_base', id=3, color=[255, 255, 0], type='lower', swap='right_base'),
        4: dict(name='right_base', id=4, color=[0, 255, 255], type='lower', swap='left_base'),
    },
    skeleton_info={
        0: dict(link=('apex', 'left_eave'), id=0, color=[255, 128, 0]),
        1: dict(link=('apex', 'right_eave'), id=1, color=[255, 128, 0]),
        2: dict(link=('left_eave', 'left_base'), id=2, color=[0, 128, 255]),
        3: dict(link=('right_eave', 'right_base'), id=3, color=[0, 128, 255]),
        4: dict(link=('left_base', 'right_base'), id=4, color=[128, 128, 128]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0],
    sigmas=[0.05, 0.06, 0.06, 0.07, 0.07])
