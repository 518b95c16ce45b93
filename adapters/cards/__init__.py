"""Adaptive Card layouts as JSON data, loaded relative to this package."""
