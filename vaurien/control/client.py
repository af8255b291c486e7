"""A Python client of the control API, for functional tests that change
Vaurien's behaviour while they run. The standard library only.

    client = Client(port=8080)
    with client.with_behavior("delay", sleep=2):
        ...   # the application under test, through the proxy
    with client.with_toxic("latency", latency=100):
        ...   # every byte to the client 100 ms late
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import quote


class ControlAPIError(Exception):
    """The API refused a request for another reason than a bad value
    (token, unknown proxy or route, or with C{--workers N} a worker that
    is gone, silent or refusing: a 5xx naming it).

    @ivar status: the HTTP status code.
    """

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status


class Client:
    """Drives one proxy of a running Vaurien.

    @ivar root: the URL the proxy's routes are under.
    """

    def __init__(self, host: str = "localhost", port: int = 8080, scheme: str = "http",
                 token: str | None = None, proxy: str | None = None):
        """
        @param token: sent as C{Authorization: Bearer TOKEN} when given.
        @param proxy: the proxy to drive by name; the first one when
            C{None}.
        """
        self._server = f"{scheme}://{host}:{port}"
        self._token = token
        self._proxy = proxy
        self.root = self._server + (f"/proxies/{quote(proxy, safe='')}" if proxy else "")

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """Send a request; its JSON answer.

        @raise ValueError: when the API refused a value (HTTP 400), with its
            description.
        @raise ControlAPIError: for any other refusal.
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                description = _description(error.read()) or f"HTTP {error.code} {error.reason}"
            if error.code == 400:
                raise ValueError(description) from None
            raise ControlAPIError(error.code, description) from None

    def get_behavior(self) -> str:
        """The handlers in force: C{"dummy"}, C{"20:delay,5:error,75:dummy"}."""
        return self._call("GET", self.root + "/behavior")["behavior"]

    def set_behavior(self, name: str, **options: Any) -> None:
        """Put handlers in force.

        @param name: a registered handler name, or shares of several
            (C{"20:delay,5:error"}).
        @param options: the handler's options (C{sleep=2}), or for shares
            options by handler (C{delay={"sleep": 1}}); C{ttl} seconds after
            which the configured handlers return.
        @raise ValueError: naming what the API refused.
        """
        self._call("PUT", self.root + "/behavior", {**options, "name": name})

    def get_behavior_options(self) -> dict[str, dict[str, Any]]:
        """Each handler in force with its options:
        C{{"delay": {"sleep": 0.1, "before": True}, "dummy": {}}}."""
        return self._call("GET", self.root + "/behavior/options")["options"]

    def reset_behavior(self) -> None:
        """Put the handlers the proxy was started with back in force, with
        their configured options."""
        self._call("DELETE", self.root + "/behavior")

    def list_behaviors(self) -> list[str]:
        """The names the API may choose: the registered handlers and those
        the proxy was configured with."""
        return self._call("GET", self.root + "/behaviors")["behaviors"]

    @contextmanager
    def with_behavior(self, name: str, **options: Any) -> Iterator[None]:
        """Put handlers in force for a C{with} block, then the previous
        ones back, with the options they had."""
        previous = self.get_behavior()
        previous_options = self.get_behavior_options()
        self.set_behavior(name, **options)
        try:
            yield
        finally:
            self.set_behavior(previous, **previous_options)

    get_handler = get_behavior
    set_handler = set_behavior
    get_handler_options = get_behavior_options
    reset_handler = reset_behavior
    list_handlers = list_behaviors
    with_handler = with_behavior

    def get_backend(self) -> str:
        """The backend address new connections go to."""
        return self._call("GET", self.root + "/backend")["backend"]

    def set_backend(self, address: str) -> None:
        """Send new connections to C{address} (C{host:port} or an endpoint
        string)."""
        self._call("PUT", self.root + "/backend", {"backend": address})

    def enabled(self) -> bool:
        """Whether the proxy listens (C{False}: it was taken down)."""
        return self._call("GET", self.root + "/enabled")["enabled"]

    def set_enabled(self, enabled: bool) -> None:
        """Take the proxy down (it stops listening and its connections are
        closed) or bring it back."""
        self._call("PUT", self.root + "/enabled", {"enabled": enabled})

    def toxics(self) -> list[dict[str, Any]]:
        """The toxics in force, in the order added: each
        C{{"name", "type", "stream", "toxicity", "attributes"}}."""
        return self._call("GET", self.root + "/toxics")["toxics"]

    def add_toxic(self, type: str, name: str | None = None, stream: str = "downstream",
                  toxicity: float = 1.0, ttl: float | None = None,
                  **attributes: Any) -> dict[str, Any]:
        """Add a toxic (C{name} by default C{TYPE_STREAM}); it acts on the
        open connections too. Its attributes as keywords (C{latency=100}).

        @return: the toxic, every attribute present.
        @raise ValueError: naming what the API refused.
        @raise ControlAPIError: 409 when the name is taken.
        """
        body = {"type": type, "name": name, "stream": stream, "toxicity": toxicity,
                "attributes": attributes, "ttl": ttl}
        return self._call("POST", self.root + "/toxics", body)

    def update_toxic(self, name: str, toxicity: float | None = None,
                     **attributes: Any) -> dict[str, Any]:
        """Change a toxic's attributes (those not given keep their values)
        or its toxicity; the open connections see the change.

        @raise ControlAPIError: 404 for an unknown toxic.
        """
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return self._call("PATCH", self.root + "/toxics/" + quote(name, safe=""), body)

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic: what it held passes on at once."""
        self._call("DELETE", self.root + "/toxics/" + quote(name, safe=""))

    def remove_toxics(self) -> None:
        """Remove every toxic."""
        self._call("DELETE", self.root + "/toxics")

    @contextmanager
    def with_toxic(self, type: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Add a toxic (as L{add_toxic}) for a C{with} block, then remove it."""
        toxic = self.add_toxic(type, **arguments)
        try:
            yield toxic
        finally:
            self.remove_toxic(toxic["name"])

    def stats(self) -> dict[str, Any]:
        """The counters: of the client's proxy when it names one, else of
        every proxy (C{{"proxies": {NAME: ...}}})."""
        return self._call("GET", self.root + "/stats")


def _description(body: bytes) -> str | None:
    """The first error description of an API error body, if it has one."""
    try:
        return json.loads(body)["errors"][0]["description"]
    except (ValueError, LookupError, TypeError):
        return None
