"""Reading the endpoint strings the configuration made: the C{host:port}
a TCP backend endpoint names (an HTTP C{Host} header's value, a log line's
backend)."""
from __future__ import annotations

import re


def backend_authority(description: str) -> str | None:
    """The C{host:port} of a TCP backend endpoint string (what an HTTP
    Host header names), or C{None} for other kinds of endpoints.
    """
    kind, _, rest = description.partition(":")
    if kind not in ("tcp", "tcp6", "ssl", "tls"):
        return None
    fields = dict(
        part.split("=", 1) for part in re.split(r"(?<!\\):", rest) if "=" in part
    )
    host, port = fields.get("host"), fields.get("port")
    if not host or not port:
        return None
    host = host.replace("\\:", ":").replace("\\=", "=").replace("\\\\", "\\")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
