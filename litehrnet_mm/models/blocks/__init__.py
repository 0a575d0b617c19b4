from .channel_shuffle import channel_shuffle
from .conditional_channel_weighting import (ConditionalChannelWeighting,
                                            CrossResolutionWeighting, SpatialWeighting)
from .hr_module import LiteHRModule
from .iterative_head import IterativeHead
from .shuffle_unit import ShuffleUnit
from .stem import Stem

__all__ = [
    'channel_shuffle', 'ConditionalChannelWeighting', 'CrossResolutionWeighting',
    'SpatialWeighting', 'LiteHRModule', 'IterativeHead', 'ShuffleUnit', 'Stem'
]
