"""Sphinx configuration of Vaurien's documentation.

Build: python -m sphinx -W --keep-going -b html docs docs/_build/html
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# The package (from a checkout, even when not installed) and the local
# extension generating the reference pages from the code.
sys.path.insert(0, os.path.dirname(_HERE))
sys.path.insert(0, os.path.join(_HERE, "_ext"))

import vaurien  # noqa: E402

project = "Vaurien"
author = "Vaurien's authors"
copyright = "Vaurien's authors"
version = release = vaurien.__version__

extensions = ["vaurien_reference", "vaurien_diagrams"]

root_doc = "index"
exclude_patterns = ["_build", "_generated"]
templates_path: list = []
html_static_path: list = []
html_theme = "alabaster"
pygments_style = "sphinx"
highlight_language = "none"
nitpicky = True
