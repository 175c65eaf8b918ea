"""Yiwang (一网): a platform for data-driven district and city government."""

__version__ = "0.1.0"
