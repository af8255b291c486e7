"""The HTTP control API (twisted.web, JSON), its metrics and its Python
client: how users change a running Vaurien while their tests run."""
