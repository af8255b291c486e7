"""The plugin contracts: handlers (what happens to a call) and protocols
(how a byte stream is cut into calls).

This module imports nothing of the package, so that third-party plugins
can depend on it alone.
"""
from zope.interface import Attribute, Interface


class IHandler(Interface):
    """Decides what happens to the data of one call.

    Implementations are classes: the proxy builds one instance per handler
    entry and sets C{settings} and C{proxy} on it.
    """

    name = Attribute("The name the handler is chosen by, e.g. C{'delay'}.")
    options = Attribute(
        "Mapping of option name to C{(description, type, default)}; a fourth"
        " item, when present, is the tuple of allowed values. Every option"
        " is optional."
    )
    settings = Attribute("The handler's loaded options (a mapping).")
    proxy = Attribute("The proxy this handler serves.")

    def __call__(client_sock, backend_sock, to_backend):
        """Handle the data waiting on one side.

        @param client_sock: socket-like wrapper over the client connection.
        @param backend_sock: socket-like wrapper over the backend connection.
        @param to_backend: C{True} when the data came from the client.
        @return: C{True} to go on, C{False} to end the connection; or a
            Deferred or coroutine that gives one of them.
        """


class IProtocol(Interface):
    """Cuts the byte streams of one connection into calls."""

    name = Attribute("The name the protocol is chosen by, e.g. C{'tcp'}.")
    options = Attribute("Options, in the same form as L{IHandler.options}.")
    settings = Attribute("The protocol's loaded options (a mapping).")
    per_call = Attribute(
        "C{True} when a handler is chosen for each request; C{False} when"
        " one handler serves the whole connection."
    )

    def error_response(request):
        """Return the bytes of an error reply in this protocol's language.

        @param request: the request being answered (bytes), or C{None}.
        """
