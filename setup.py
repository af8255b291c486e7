"""Packaging for Vaurien; everything but the optional C accelerators is
declared in setup.cfg.

The Twisted plugin (twisted/plugins/vaurien_plugin.py) ships as a module of
the C{twisted.plugins} namespace; Twisted adds it to its dropin cache the
first time C{twistd} looks for plugins (a wheel install has no post-install
step to do it earlier).
"""
from setuptools import Extension, setup

setup(
    # Optional: without a C compiler the pure Python skimmers run.
    ext_modules=[
        Extension("vaurien._skim", ["vaurien/_skim.c"], depends=["vaurien/_follower.h"],
                  optional=True),
        Extension("vaurien._pump", ["vaurien/_pump.c"], optional=True),
        Extension("vaurien._http_skim", ["vaurien/_http_skim.c"],
                  depends=["vaurien/_follower.h"], optional=True),
    ],
)
