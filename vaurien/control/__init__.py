"""The HTTP control API (twisted.web, JSON), its metrics and its Python
client: how users change a running Vaurien while their tests run; and the
channel that carries each change to the workers of C{--workers N}."""
