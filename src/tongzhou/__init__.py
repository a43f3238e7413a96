"""Tongzhou (同舟): a home for patient-run cancer mutual-aid groups."""

__version__ = "0.1.0"
