"""Data: a pipeline transform, and the synthetic data sets the demos and tests generate."""
from .transforms import CheckSegLabels

__all__ = ['CheckSegLabels']
