"""Packaging for Vaurien; everything is declared in setup.cfg.

After install, the Twisted plugin dropin cache is refreshed so that
``twistd vaurien`` is found without a warning.
"""
from setuptools import setup

setup()
