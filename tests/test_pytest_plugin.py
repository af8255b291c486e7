"""The vaurien_proxy fixture used from a real pytest run: a generated test
file, an echo server, proxies through the fixture, the control API client;
the proxies are gone after the run."""
from __future__ import annotations

import os
import sys
import textwrap

from twisted.trial.unittest import TestCase

from twisted.internet.utils import getProcessOutputAndValue

from tests.processes import environment

#: The test file pytest runs: an echo backend on a thread, then proxies.
_USER_TESTS = '''
import os
import socketserver
import threading

import pytest

from tests.test_util import exchange


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_through_the_proxy(vaurien_proxy, echo_server):
    proxy = vaurien_proxy(backend=echo_server, http=True, http_token="t0k")
    assert proxy.address == "%s:%d" % (proxy.host, proxy.port)
    assert exchange(proxy.port, b"ping") == b"ping"
    assert proxy.client.get_behavior() == "dummy"
    proxy.client.set_behavior("blackout")
    assert exchange(proxy.port, b"ping") == b""
    with open(os.environ["VAURIEN_PID_FILE"], "w") as pid_file:
        pid_file.write(str(proxy.process.pid))


def test_two_proxies_options_and_no_api(vaurien_proxy, echo_server):
    first = vaurien_proxy(backend=echo_server, handler="100:blackout")
    second = vaurien_proxy(backend=echo_server, timeout=5, log_level="error")
    assert first.port != second.port
    assert exchange(first.port, b"x") == b""
    assert exchange(second.port, b"y") == b"y"
    with pytest.raises(ValueError, match="http=True"):
        first.client


def test_a_wrong_option_fails_the_start(vaurien_proxy, echo_server):
    with pytest.raises(ValueError, match="status 2"):
        vaurien_proxy(backend=echo_server, timeout="soon")
'''


class PytestPluginTests(TestCase):
    async def test_fixture_in_a_real_pytest_run(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "test_with_vaurien.py"), "w") as tests:
            tests.write(textwrap.dedent(_USER_TESTS))
        pid_file = os.path.join(directory, "pid")
        env = {**environment(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "VAURIEN_PID_FILE": pid_file}
        out, err, status = await getProcessOutputAndValue(
            sys.executable,
            ["-m", "pytest", "-p", "vaurien.testing.pytest_plugin", "-q", "-p", "no:cacheprovider",
             directory],
            env=env,
            path=directory,
        )
        self.assertEqual(status, 0, (out + err).decode())
        self.assertIn(b"3 passed", out)
        with open(pid_file) as pids:
            pid = int(pids.read())
        self.assertRaises(ProcessLookupError, os.kill, pid, 0)
