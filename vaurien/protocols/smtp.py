"""smtp: plain tcp with keep-alive forced, as the original had it, so that
configurations naming it keep working."""
from vaurien.protocols import Protocol
from vaurien.protocols.tcp_keep_alive import KeepAliveTCP


@Protocol.register
class SMTP(KeepAliveTCP):
    """SMTP's traffic passes as plain tcp; the client stays connected when
    the backend closes."""

    name = "smtp"
