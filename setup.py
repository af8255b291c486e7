"""Packaging for Vaurien; everything but the optional C accelerators is
declared in setup.cfg.

The Twisted plugin (twisted/plugins/vaurien_plugin.py) ships as a module of
the C{twisted.plugins} namespace; Twisted adds it to its dropin cache the
first time C{twistd} looks for plugins (a wheel install has no post-install
step to do it earlier).
"""
from setuptools import Extension, setup

#: Where the C followers' shared header (_follower.h) is.
_PROTOCOLS = "vaurien/protocols"

setup(
    # Optional: without a C compiler the pure Python skimmers run. Each C
    # module sits beside the Python module it speeds up.
    ext_modules=[
        Extension("vaurien.protocols.redis._skim", ["vaurien/protocols/redis/_skim.c"],
                  include_dirs=[_PROTOCOLS], depends=[f"{_PROTOCOLS}/_follower.h"],
                  optional=True),
        Extension("vaurien.protocols.http._skim", ["vaurien/protocols/http/_skim.c"],
                  include_dirs=[_PROTOCOLS], depends=[f"{_PROTOCOLS}/_follower.h"],
                  optional=True),
        Extension("vaurien.fastpath._pump", ["vaurien/fastpath/_pump.c"], optional=True),
    ],
)
