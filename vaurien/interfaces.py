"""The plugin contracts: handlers (what happens to a call), protocols
(how a byte stream is cut into calls) and toxics (faults on the byte
stream of one direction).

This module imports nothing of the package, so that third-party plugins
can depend on it alone.
"""
from zope.interface import Attribute, Interface


def optional(doc: str) -> Attribute:
    """An attribute a plugin may leave out (tagged C{optional}: the
    registry does not ask for it)."""
    attribute = Attribute(doc)
    attribute.setTaggedValue("optional", True)
    return attribute


class IProxies(Interface):
    """The running proxies, which the control APIs may add, take down,
    bring back and remove while Vaurien runs. A proxy is described as a
    mapping: C{name}, C{listen} (as given, or the real C{host:port} when
    the port was 0 or none was given), C{upstream} (its backend, as
    given), C{enabled} and C{protocol}. Each method raises
    L{vaurien.errors.NotFound} for an unknown proxy; the Deferreds of
    C{create}, C{set_enabled} and C{move} fire with the description."""

    controls = Attribute(
        "A live mapping of proxy name to its L{IProxyControl}, in the order"
        " the proxies were added: it shows proxies added or removed later."
    )

    def describe(name):
        """The proxy C{name}, described."""

    def create(name, listen, upstream, enabled=True, protocol=None):
        """Add a proxy and, when C{enabled}, make it listen; a Deferred.

        @param listen: C{host:port} (port 0: one the system chooses) or an
            endpoint string.
        @param upstream: the backend, C{host:port} or an endpoint string.
        @param protocol: a registered protocol name (C{None}: tcp).
        @raise vaurien.errors.ConfigError: a wrong name, address or protocol.
        @raise vaurien.errors.Conflict: the name, or the address, is taken;
            nothing is added then. (The Deferred fails with either.)
        """

    def set_enabled(name, enabled):
        """Take a proxy down (stop listening, close its connections; its
        settings and toxics are kept) or bring it back; a Deferred.

        @raise vaurien.errors.Conflict: its address is taken now: it stays down.
        """

    def move(name, listen=None, upstream=None):
        """Change where a proxy listens or its backend (C{None}, or the
        value it has, keeps it); a Deferred.

        @raise vaurien.errors.ConfigError: a wrong address.
        @raise vaurien.errors.Conflict: the new address is taken: nothing changes.
        """

    def remove(name):
        """Stop a proxy and forget it; a Deferred, once it stopped listening."""


class IHandler(Interface):
    """Decides what happens to the data of one call.

    Implementations are classes: the proxy builds one instance per handler
    entry and sets C{settings} and C{proxy} on it.
    """

    name = Attribute("The name the handler is chosen by, e.g. C{'delay'}.")
    options = Attribute(
        "Mapping of option name to C{(description, type, default)}; a fourth"
        " item, when present, is the tuple (or C{range}) of allowed values."
        " Every option"
        " is optional."
    )
    settings = Attribute("The handler's loaded options (a mapping).")
    proxy = Attribute("The proxy this handler serves.")

    # What a handler may declare (class attributes; each optional).
    passthrough = optional(
        "Default C{False}. C{True} declares that the handler only"
        " passes each call's bytes on, unchanged, in both directions. The"
        " proxy then may not call it at all: on tcp it joins the two"
        " connections (and may hand them to its fast paths); on a framed"
        " protocol it passes the request or reply on itself, and while it"
        " is the only handler in play it skims (see L{ISkimming}). Its calls"
        " are still counted. Declare it only where that is what the handler"
        " would do: C{dummy} is the one built-in that does."
    )
    holds_connection = optional(
        "Default C{False}. C{True} declares that the handler keeps"
        " connections open on purpose, answering nothing (C{hang}): the"
        " idle timeout leaves such a connection alone."
    )
    blocking = optional(
        "Default C{True} for a plain C{__call__}. C{True}: the"
        " handler is written for blocking sockets (the seed's style) and"
        " runs in a worker thread, its wrappers' C{recv} waiting at most the"
        " proxy's C{timeout}. C{False}: it runs on the reactor and only reads"
        " what is there (C{recv} on an empty live wrapper raises"
        " C{BlockingIOError}). A coroutine C{__call__} always runs on the"
        " reactor."
    )

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
        "C{True} when the protocol frames requests and a handler is chosen"
        " for each; C{False} when one handler serves the whole connection"
        " and L{framing} is never asked for."
    )

    def framing():
        """Return a new L{IFraming} for one connection."""

    def error_response(request):
        """Return the bytes of an error reply in this protocol's language.

        @param request: the request being answered: its bytes, or C{None}
            when the error replaces an answer on an unframed stream.
        """

    def unavailable_response(request):
        """Return what a client gets when the backend cannot be reached
        (HTTP: a 502), or C{None} to close its connection.

        @param request: the request left unanswered (bytes).
        """


class IFraming(Interface):
    """The framing of one connection: requests from the client, replies
    from the backend, paired in order (FIFO).

    Every method may raise C{vaurien.protocols.framing.FramingError}: the
    stream stopped being framable and the rest of the connection passes as
    plain tcp. Frames are C{vaurien.protocols.framing.Frame} objects whose
    bytes are exactly the bytes received.
    """

    pending = Attribute("Bytes held for frames not yet complete.")

    def feed_requests(data):
        """Bytes from the client; return the requests they complete."""

    def expect_reply(request):
        """C{request} went to the backend: its reply comes next in order."""

    def feed_replies(data):
        """Bytes from the backend; return the replies they complete."""

    def replies_ended():
        """The backend ended its stream; return replies this completes
        (an HTTP response delimited by the close)."""

    def unframed():
        """Return C{(from_client, from_backend)}: the bytes held and not
        given out in frames, when framing stops (a tunnel, or after a
        C{FramingError}: every byte fed since the last frames returned)."""

    def rewrite_request(request):
        """Return the bytes to send the backend for C{request} (most
        protocols send them as they are)."""


class ISkimming(IFraming):
    """A framing that can also follow traffic it does not cut (optional).

    While every handler in play only passes bytes (L{IHandler.passthrough}),
    a framed connection passes each chunk on as it comes and shows it to
    the framing, which keeps just enough state to start cutting frames
    again at the next point of rest, once a fault comes into play. A
    framing without it is always cut.
    """

    resting = Attribute(
        "C{True} when no frame is in progress either way and no reply is"
        " awaited: cutting frames may start from the next byte."
    )

    def skim_requests(data):
        """Bytes from the client, already passed on: follow them; return
        how many requests they complete.

        @raise vaurien.protocols.framing.FramingError: the stream is not
            framable, or became a tunnel: the rest passes as plain tcp.
        """

    def skim_replies(data):
        """Bytes from the backend, already passed on: follow them.

        @raise vaurien.protocols.framing.FramingError: as L{skim_requests}.
        """

    def followers():
        """Optional. Return C{(requests, replies)}: two callables that give
        exactly the answers of L{skim_requests} and L{skim_replies} (and
        keep this framing's state as they would), with less work; the
        proxy's lane calls them instead (Redis's and HTTP's follow whole
        plain frames in C).

        The rules a follower keeps, as the lane calls it between reads of
        many connections: it returns at once (no timed call, no I/O, no
        wait); it raises nothing but C{FramingError} (the lane hands the
        connection back and it passes as tcp; anything else is logged as
        a bug, with the same effect); its work and the memory it keeps are
        at most linear in the bytes shown, and bounded whatever they hold.
        """


class IWholeRequests(ISkimming):
    """A skimming framing that can also say which chunks from the client
    are whole requests (optional). With it, a connection skims the calls
    drawn to the handler that only passes bytes while faults are in play
    beside it; a chunk holding a drawn fault is cut as usual."""

    def whole_requests(data):
        """How many requests C{data}, from the client, is: when it is
        exactly that many whole requests that L{skim_requests} follows,
        else 0. It keeps the rules of L{followers}, and changes nothing.
        """


class IToxicOutput(Interface):
    """Where a toxic passes on what it lets through: the next toxic of its
    direction, or the connection's other side. Given to each toxic as it
    is made, with the proxy's clock and random generator."""

    clock = Attribute(
        "The proxy's C{IReactorTime}: every timer of the toxic runs on it"
        " (a C{task.Clock} in tests)."
    )
    random = Attribute(
        "The proxy's C{random.Random}, seeded with its C{seed}: a toxic's"
        " own randomness (jitter, slice sizes) comes from it."
    )

    def data(chunk, read_at):
        """Pass C{chunk} (bytes) on.

        @param read_at: when the proxy read it (the clock's seconds),
            unchanged from one toxic to the next.
        """

    def end(how):
        """Pass an end of the stream on, after the data passed before it.

        @param how: C{"close"} (an orderly close), C{"half_close"} (end of
            stream, the other direction goes on) or C{"reset"} (a TCP
            reset: the peer sees C{ECONNRESET}).
        """


class IToxic(Interface):
    """A fault on the byte stream of one direction of a connection
    (Toxiproxy's toxics): it delays, slices, limits or cuts what passes.

    Implementations are classes. The proxy makes one instance for each
    connection and direction the toxic is active on, as
    C{cls(settings, output)}: C{settings} maps every name of
    L{attributes} to its value, C{output} provides L{IToxicOutput}. The
    instance gets each chunk written that way and the end of the stream,
    and passes them on to C{output} (now or later, on C{output.clock}),
    drops them, or ends the stream itself. A C{"half_close"} may be
    followed by a C{"close"} or C{"reset"}; after those, nothing passes.
    """

    name = Attribute("The toxic's type, e.g. C{'latency'}.")
    attributes = Attribute(
        "Mapping of attribute name to C{(description, type, default)}, with"
        " Toxiproxy's names and units (C{latency} in ms, C{rate} in KB/s)."
        " Every attribute is optional."
    )
    held = Attribute(
        "How many bytes the instance holds now, not yet passed on: while"
        " a direction holds more than a read, its source is not read."
    )
    holds_connection = optional(
        "Default C{False}. C{True} declares that the toxic keeps the"
        " connection open on purpose, passing nothing (C{timeout}): the idle"
        " timeout leaves it alone, as it does a connection holding bytes."
    )

    def data(chunk, read_at):
        """Bytes written in this direction (see L{IToxicOutput.data})."""

    def end(how):
        """The stream of this direction ends (see L{IToxicOutput.end})."""

    def update(settings):
        """The toxic's attributes changed on a live connection: the new
        C{settings} (every attribute) apply from now on."""

    def remove():
        """The toxic is taken off this connection: pass on at once what it
        holds, or end the stream if its fault means to (C{timeout} 0),
        and cancel its timers."""


class IProxyControl(Interface):
    """What the control API may do to a running proxy: no more."""

    name = Attribute("The proxy's name.")

    def handler_names():
        """The names the API may choose: the registered handlers, and those
        the proxy was configured with (C{[handler:NAME]} names, dotted
        paths)."""

    def behavior():
        """The handlers in force, as C{"dummy"} or C{"20:delay,5:error"}."""

    def behavior_options():
        """Each handler in force by name, with its declared options and
        targets as L{set_behavior} takes them back."""

    def set_behavior(spec, options=None, ttl=None):
        """Put handlers in force for new connections and calls.

        @param spec: a name of L{handler_names} (all calls) or shares of
            them (C{"20:delay,5:error"}; the rest to dummy).
        @param options: handler name to its options (values as JSON gives
            them, converted to each option's type), over the options the
            proxy was configured with for that name, else the defaults.
        @param ttl: seconds after which the configured handlers return;
            C{None}: until changed again.
        @raise vaurien.errors.ConfigError: naming what is wrong.
        """

    def reset_behavior():
        """Put the configured handlers back in force."""

    def backend():
        """The backend address new connections go to."""

    def set_backend(address):
        """Send new connections to C{address} (C{host:port} or an endpoint
        string); L{vaurien.errors.ConfigError} when it is not an address."""

    def stats():
        """The proxy's counters, as a JSON-ready mapping."""

    def toxics():
        """The toxics in force, in the order they were added: each a dict
        C{{"name", "type", "stream", "toxicity", "attributes"}}, with every
        attribute of its type."""

    def add_toxic(name, type, stream="downstream", toxicity=1.0, attributes=None, ttl=None):
        """Add a toxic; it applies to the connections already open too
        (on each, active with probability C{toxicity}).

        @param name: its name; C{None}: C{f"{type}_{stream}"}.
        @param type: a registered toxic type (L{IToxic.name}).
        @param stream: C{"upstream"} (client to backend) or
            C{"downstream"} (backend to client).
        @param toxicity: the share of connections it is active on, 0 to 1.
        @param attributes: attribute name to value (left out: its default).
        @param ttl: seconds after which it is removed; C{None}: never.
        @return: the toxic, as L{toxics} shows it.
        @raise vaurien.errors.ConfigError: a bad type, attribute, value, stream or toxicity.
        @raise vaurien.errors.Conflict: a toxic of that name exists.
        """

    def update_toxic(name, attributes=None, toxicity=None):
        """Change a toxic: attributes left out keep their values; applies
        to the connections already open.

        @return: the toxic, as L{toxics} shows it.
        @raise vaurien.errors.NotFound: no toxic of that name.
        @raise vaurien.errors.ConfigError: as L{add_toxic}.
        """

    def remove_toxic(name):
        """Remove a toxic from the proxy and its open connections
        (L{vaurien.errors.NotFound}: no toxic of that name)."""

    def remove_toxics():
        """Remove every toxic."""
