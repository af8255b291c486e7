"""Errors a user can meet: each carries a message written for a person.

They are raised deep inside and caught once at the edge (the command line
turns them into exit status 2, the control API into a 4xx JSON body).
"""


class VaurienError(Exception):
    """Base of the errors whose message is shown to the user as it is."""


class ConfigError(VaurienError):
    """A setting, option or file that cannot be used."""


class PluginError(ConfigError):
    """A handler, protocol or toxic that cannot be found, imported or used."""


class Conflict(VaurienError):
    """What was asked for exists already (a toxic of that name)."""


class NotFound(VaurienError):
    """What was named does not exist (a toxic of that name)."""


class Conflict(VaurienError):
    """A name or an address already taken."""


class NotFound(VaurienError):
    """A proxy or toxic that does not exist."""


def cannot_listen_message(error: Exception) -> str:
    """One line for a listening address that cannot be used.

    @param error: a L{twisted.internet.error.CannotListenError}.
    """
    return (
        f"cannot listen on {error.interface or '*'}:{error.port}: {error.socketError}."
        " Choose another address with --proxy (or proxy = in [vaurien]"
        " or [proxy:NAME]), --http-port for the control API, or --toxiproxy-api"
        " for Toxiproxy's."
    )
