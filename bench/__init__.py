"""Vaurien's benchmark suite: the same load direct and through the proxy.

Run it with C{python -m bench} (see bench/README.md).
"""
