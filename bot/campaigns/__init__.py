"""Awareness campaigns: the campaign file format, its loader and its checks."""
