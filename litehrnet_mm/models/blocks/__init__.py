"""The building blocks of Lite-HRNet, each in its own file, named as in the paper."""
from .channel_shuffle import channel_shuffle, shuffle_concat, split_halves
from .conditional_channel_weighting import (ConditionalChannelWeighting,
                                            CrossResolutionWeighting, SpatialWeighting)
from .fuse_layers import DownsamplePath, FuseLayers, Upsample, UpsamplePath
from .hr_module import BLOCK_TYPES, LiteHRModule, ParallelBranches
from .iterative_head import IterativeHead
from .separable_conv import SeparableConvNorm
from .shuffle_unit import ShuffleUnit
from .stem import Stem
from .transition import Transition

__all__ = [
    'channel_shuffle', 'shuffle_concat', 'split_halves', 'ConditionalChannelWeighting',
    'CrossResolutionWeighting', 'SpatialWeighting', 'DownsamplePath', 'FuseLayers', 'Upsample',
    'UpsamplePath', 'BLOCK_TYPES', 'LiteHRModule', 'ParallelBranches', 'IterativeHead',
    'SeparableConvNorm', 'ShuffleUnit', 'Stem', 'Transition'
]
