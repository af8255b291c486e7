"""toxiproxy-python, unchanged, driving a running Vaurien started with
--toxiproxy-api: run by tests/test_toxiproxy_clients.py as

    python drive.py API_PORT UPSTREAM proxies|toxics

UPSTREAM is an echo server's host:port. Each step asserts what Toxiproxy
would answer; it prints "ok" at the end, or fails with the step's
traceback (exit status 1)."""
import socket
import sys

from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import NotFound, ProxyExists


def echoes(listen):
    """Whether the proxy listening at host:port passes bytes both ways."""
    host, port = listen.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"ping")
            return sock.recv(4) == b"ping"
    except OSError:
        return False


def proxies(server, upstream):
    assert server.running()
    assert server.version()
    assert server.proxies() == {}

    proxy = server.create(upstream=upstream, name="echo", listen="127.0.0.1:0")
    assert proxy.enabled and proxy.upstream == upstream
    assert not proxy.listen.endswith(":0"), proxy.listen
    assert echoes(proxy.listen)
    assert list(server.proxies()) == ["echo"]
    assert server.get_proxy("echo").listen == proxy.listen
    try:
        APIConsumer.post("/proxies", json={"name": "echo", "upstream": upstream})
        raise AssertionError("a duplicate proxy was created")
    except ProxyExists:
        pass

    proxy.disable()
    assert not server.get_proxy("echo").enabled
    assert not echoes(proxy.listen)
    proxy.enable()
    assert echoes(proxy.listen)
    with proxy.down():
        assert not echoes(proxy.listen)
    assert echoes(proxy.listen)

    # Vaurien's handlers as toxic types: every call an error here.
    proxy.add_toxic(type="blackout", toxicity=1.0)
    assert list(proxy.toxics()) == ["blackout_downstream"]
    assert not echoes(proxy.listen)
    proxy.destroy_toxic("blackout_downstream")
    assert proxy.toxics() == {}
    assert echoes(proxy.listen)

    proxy.disable()
    proxy.add_toxic(type="blackout", toxicity=1.0)
    assert server.reset()
    assert server.get_proxy("echo").enabled and proxy.toxics() == {}
    assert echoes(proxy.listen)

    populated = server.populate([
        {"name": "echo", "listen": proxy.listen, "upstream": upstream},
        {"name": "second", "listen": "127.0.0.1:0", "upstream": upstream},
    ])
    assert [p.name for p in populated] == ["second"]
    assert sorted(server.proxies()) == ["echo", "second"]
    assert echoes(server.get_proxy("second").listen)

    server.destroy_all()
    assert server.proxies() == {}
    try:
        APIConsumer.get("/proxies/echo")
        raise AssertionError("a removed proxy was found")
    except NotFound:
        pass


def toxics(server, upstream):
    proxy = server.create(upstream=upstream, name="toxic", listen="127.0.0.1:0")
    proxy.add_toxic(type="latency", attributes={"latency": 100})
    proxy.add_toxic(name="slow", type="bandwidth", stream="upstream", toxicity=0.5,
                    attributes={"rate": 1000})
    found = proxy.toxics()
    assert sorted(found) == ["latency_downstream", "slow"], found
    latency = proxy.get_toxic("latency_downstream")
    assert (latency.type, latency.stream, latency.toxicity) == ("latency", "downstream", 1.0)
    assert latency.attributes == {"latency": 100, "jitter": 0}, latency.attributes
    slow = found["slow"]
    assert (slow.stream, slow.toxicity, slow.attributes) == ("upstream", 0.5, {"rate": 1000})
    assert echoes(proxy.listen)
    proxy.destroy_toxic("slow")
    assert list(proxy.toxics()) == ["latency_downstream"]
    assert server.reset()
    assert proxy.toxics() == {}
    proxy.destroy()


if __name__ == "__main__":
    api_port, upstream, part = sys.argv[1:]
    server = Toxiproxy()
    server.update_api_consumer("127.0.0.1", int(api_port))
    {"proxies": proxies, "toxics": toxics}[part](server, upstream)
    print("ok")
