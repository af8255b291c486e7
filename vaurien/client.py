"""The control API's Python client, where the original Vaurien had it."""
from vaurien.control.client import Client, ControlAPIError
__all__ = ["Client", "ControlAPIError"]
