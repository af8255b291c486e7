"""Packaging for Vaurien; everything is declared in setup.cfg.

The Twisted plugin (twisted/plugins/vaurien_plugin.py) ships as a module of
the C{twisted.plugins} namespace; Twisted adds it to its dropin cache the
first time C{twistd} looks for plugins (a wheel install has no post-install
step to do it earlier).
"""
from setuptools import setup

setup()
