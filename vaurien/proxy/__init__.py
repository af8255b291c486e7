"""The bridge: client-side and backend-side protocols, handler choice and
flow control."""
from vaurien.proxy.proxy import Proxy, ProxyFactory

__all__ = ["Proxy", "ProxyFactory"]
