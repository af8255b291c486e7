"""The toxics of one proxy as Toxiproxy's API shows them: the proxy's
stream faults (L{IProxyControl.toxics}), and Vaurien's handlers offered as
extra toxic types.

A handler toxic (type C{error}, C{delay}, ... any name of
L{IProxyControl.handler_names} but C{dummy}) is a share of the proxy's
calls: its C{toxicity} is that share (0.2: 20 % of the requests on a
framed protocol, of the connections on tcp), its C{attributes} the
handler's options. The handler toxics of a proxy are put in force
together, through L{IProxyControl.set_behavior} (C{"20:error,10:delay"});
with none left, the proxy's configured handlers return. Their C{stream}
is shown as given: a handler acts on whole calls, both ways.
"""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.errors import Conflict, NotFound
from vaurien.interfaces import IProxyControl

#: The directions a toxic may filter.
STREAMS = ("upstream", "downstream")


class ProxyToxics:
    """Every toxic of one proxy, of both kinds.

    @ivar control: the proxy's control surface.
    """

    def __init__(self, control: IProxyControl):
        self.control = control
        self._handlers: dict[str, dict[str, Any]] = {}  # by name, in order added

    def handler_types(self) -> list[str]:
        """The handler names offered as toxic types."""
        return [name for name in self.control.handler_names() if name != "dummy"]

    def listed(self) -> list[dict[str, Any]]:
        """Every toxic: the stream ones in the order added, then the
        handler ones."""
        return [*self.control.toxics(), *(dict(toxic) for toxic in self._handlers.values())]

    def get(self, name: str) -> dict[str, Any]:
        """The toxic C{name}.

        @raise NotFound: no such toxic.
        """
        for toxic in self.listed():
            if toxic["name"] == name:
                return toxic
        raise NotFound(f"toxic not found: {name!r}")

    def add(self, name: str, type_: str, stream: str, toxicity: float,
            attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Add a toxic.

        @raise ConfigError: an unknown type or attribute, a bad value.
        @raise Conflict: a toxic of that name exists.
        """
        if any(toxic["name"] == name for toxic in self.listed()):
            raise Conflict(f"toxic already exists: {name!r}")
        if type_ not in self.handler_types():
            return self.control.add_toxic(
                name, type_, stream=stream, toxicity=toxicity, attributes=dict(attributes))
        toxic = {"name": name, "type": type_, "stream": stream, "toxicity": toxicity,
                 "attributes": dict(attributes)}
        self._put_in_force({**self._handlers, name: toxic})
        return self.get(name)

    def update(self, name: str, attributes: Mapping[str, Any] | None,
               toxicity: float | None) -> dict[str, Any]:
        """Merge C{attributes} into a toxic's, and set its toxicity (C{None}
        keeps what it has); open connections see the change.

        @raise NotFound: no such toxic.
        @raise ConfigError: an unknown attribute, a bad value.
        """
        if name not in self._handlers:
            self.get(name)
            return self.control.update_toxic(
                name, attributes=None if attributes is None else dict(attributes),
                toxicity=toxicity)
        old = self._handlers[name]
        toxic = {**old, "attributes": {**old["attributes"], **(attributes or {})}}
        if toxicity is not None:
            toxic["toxicity"] = toxicity
        self._put_in_force({**self._handlers, name: toxic})
        return self.get(name)

    def remove(self, name: str) -> None:
        """Remove a toxic.

        @raise NotFound: no such toxic.
        """
        if name not in self._handlers:
            self.get(name)
            self.control.remove_toxic(name)
            return
        self._put_in_force({key: toxic for key, toxic in self._handlers.items() if key != name})

    def clear(self) -> None:
        """Remove every toxic, of both kinds."""
        if self._handlers:
            self._put_in_force({})
        self.control.remove_toxics()

    def _put_in_force(self, toxics: dict[str, dict[str, Any]]) -> None:
        """Make C{toxics} the handler toxics, their handlers in force; on
        a refusal nothing changes.

        @raise ConfigError: the proxy refused them, naming why.
        """
        if not toxics:
            self.control.reset_behavior()
        else:
            spec = ",".join(f"{round(toxic['toxicity'] * 100)}:{toxic['type']}"
                            for toxic in toxics.values())
            options: dict[str, dict[str, Any]] = {}
            for toxic in toxics.values():
                options.setdefault(toxic["type"], {}).update(toxic["attributes"])
            self.control.set_behavior(spec, options)
            in_force = self.control.behavior_options()
            for toxic in toxics.values():
                toxic["attributes"] = {**toxic["attributes"], **in_force.get(toxic["type"], {})}
        self._handlers = toxics
