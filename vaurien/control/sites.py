"""The twisted.web sites the APIs are served on, as a user reads them in
the log: one line naming the API and its port, no object addresses."""
from __future__ import annotations

from twisted.web.resource import IResource
from twisted.web.server import Site


class ApiSite(Site):
    """A site named in the log (C{vaurien control API starting on 8080}),
    with no traceback shown to clients."""

    noisy = False
    displayTracebacks = False

    def __init__(self, resource: IResource, name: str):
        super().__init__(resource)
        self._name = name

    def logPrefix(self) -> str:
        return self._name
