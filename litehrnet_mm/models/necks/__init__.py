from .iterative_head import IterativeHeadNeck, head_layer_to_neck

__all__ = ['IterativeHeadNeck', 'head_layer_to_neck']
