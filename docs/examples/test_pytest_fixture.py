"""The vaurien_proxy pytest fixture: a proxy per test, stopped after it."""
import pytest

from echo_backend import EchoBackend, ping


@pytest.fixture
def backend():
    server = EchoBackend()
    yield server.address
    server.stop()


def test_passes_through(vaurien_proxy, backend):
    proxy = vaurien_proxy(backend=backend)
    assert ping(proxy.port) == b"ping"


def test_errors_for_a_while(vaurien_proxy, backend):
    proxy = vaurien_proxy(backend=backend, http=True,
                          handler="100:delay", handler_delay_sleep=0.05)
    with proxy.client.with_behavior("error"):
        # On tcp, the error handler answers random bytes.
        assert ping(proxy.port) != b"ping"
    assert proxy.client.get_behavior_options() == {
        "delay": {"sleep": 0.05, "before": True}}
    assert ping(proxy.port) == b"ping"
    assert proxy.client.stats()["proxies"]["default"]["calls"]["error"] == 1
