"""transient: errors on the first calls, then passes."""
from vaurien.handlers import Handler
from vaurien.handlers.error import Error


@Handler.register
class Transient(Error):
    """Answers the first C{agitate} calls (counted as C{error} counts them,
    across every connection of the proxy) with an error, as C{error} does,
    then lets every call pass: a backend that recovers.
    """

    name = "transient"
    options = {
        "agitate": ("Number of calls before succeeding", int, 1),
        "inject": Error.options["inject"],
    }

    def errs(self) -> bool:
        return self.calls <= self.option("agitate")
