"""http: HTTP/1.0 and 1.1, one call per request and its response.

L{protocol} holds the protocol (L{HTTP}); L{framing}, the framing of one
connection, cut with h11 (L{HttpFraming}); L{skim}, the framing that also
follows traffic without cutting it (L{SkimmingHttpFraming}), with its C
twin C{_skim} when it was built; L{heads}, how those followers check
message heads.
"""
from vaurien.protocols.http.framing import HttpFraming
from vaurien.protocols.http.protocol import HTTP
from vaurien.protocols.http.skim import SkimmingHttpFraming

__all__ = ["HTTP", "HttpFraming", "SkimmingHttpFraming"]
