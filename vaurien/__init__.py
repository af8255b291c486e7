"""Vaurien: a chaos TCP proxy on Twisted."""

__version__ = "2.0.0.dev0"
