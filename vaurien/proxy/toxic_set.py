"""The toxics of one proxy: those in force, in the order they were added,
applied to every open connection as they come, change and go."""
from __future__ import annotations

import random
from typing import Any

import attrs

from vaurien.errors import Conflict, NotFound
from vaurien.proxy.toxics import NO_TOXICS, ConnectionToxics, NoToxics


class ProxyToxics:
    """The toxics in force on one proxy.

    @ivar entries: the L{vaurien.config.ToxicEntry} values in force, in
        the order they were added.
    @ivar random: the generator of the toxicity draws and of the toxics'
        own randomness, seeded with the proxy's C{seed}.
    """

    def __init__(self, proxy: Any):
        self.proxy = proxy
        self.entries: list[Any] = list(proxy.settings.toxics)
        self.random = random.Random(proxy.settings.seed)
        self._expiry: dict[str, Any] = {}

    def for_connection(self, connection: Any) -> ConnectionToxics | NoToxics:
        """The toxics of a new connection."""
        return ConnectionToxics(connection) if self.entries else NO_TOXICS

    def draw(self, entry: Any) -> bool:
        """Whether C{entry} is active on one connection and direction."""
        if entry.toxicity >= 1.0:
            return True
        return entry.toxicity > 0.0 and self.random.random() < entry.toxicity

    def find(self, name: str) -> Any:
        """The entry named C{name}.

        @raise NotFound: when there is none.
        """
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise NotFound(f"no toxic {name!r} on proxy {self.proxy.name!r}")

    def add(self, entry: Any, ttl: float | None = None) -> None:
        """Put C{entry} in force, on the open connections too.

        @param ttl: seconds after which it is removed.
        @raise Conflict: when a toxic of that name exists.
        """
        if any(e.name == entry.name for e in self.entries):
            raise Conflict(f"toxic {entry.name!r} exists already on proxy {self.proxy.name!r}")
        self.entries.append(entry)
        for connection in list(self.proxy.connections):
            if connection.toxics is NO_TOXICS:
                connection.toxics = ConnectionToxics(connection)
            else:
                connection.toxics.added(entry)
        if ttl is not None:
            self._expiry[entry.name] = self.proxy.clock.callLater(ttl, self.remove, entry.name)

    def update(self, name: str, attributes: Any, toxicity: float) -> Any:
        """Give the toxic C{name} new attributes (all of them) and toxicity.

        @return: its new entry.
        @raise NotFound: when there is none.
        """
        old = self.find(name)
        new = attrs.evolve(old, attributes=attributes, toxicity=toxicity)
        if new == old:
            return old  # the same values: nothing changes, not even a timer
        self.entries[self.entries.index(old)] = new
        for connection in self._toxic_connections():
            connection.toxics.updated(old, new)
        return new

    def remove(self, name: str) -> None:
        """Take the toxic C{name} off the proxy and its connections.

        @raise NotFound: when there is none.
        """
        entry = self.find(name)
        self.entries.remove(entry)
        expiry = self._expiry.pop(name, None)
        if expiry is not None and expiry.active():
            expiry.cancel()
        for connection in self._toxic_connections():
            connection.toxics.removed(entry)

    def clear(self) -> None:
        """Take every toxic off."""
        for entry in list(self.entries):
            self.remove(entry.name)

    def stop(self) -> None:
        """The proxy stops: every connection passes what its toxics hold
        at once; the toxics stay in force (and their ttl timers run)."""
        for connection in self._toxic_connections():
            connection.toxics.clear()

    def _toxic_connections(self) -> list[Any]:
        return [c for c in self.proxy.connections if c.toxics is not NO_TOXICS]
