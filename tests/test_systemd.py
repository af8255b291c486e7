"""contrib/systemd: the unit files parse, hold what the README promises,
pass systemd-analyze verify where it is installed, and the config takes
a socket systemd passes (systemd:domain=INET:index=0) and proxies on it."""
from __future__ import annotations

import configparser
import os
import shutil
import socket

from twisted.internet.endpoints import _SystemdParser
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.systemd import ListenFDs
from twisted.trial.unittest import SkipTest, TestCase

from tests.processes import SOURCE_TREE
from tests.proxying import echo_backend
from tests.test_config import ConfigTestCase, parse
from tests.test_service import echoed
from vaurien.service import makeService

UNITS = os.path.join(SOURCE_TREE, "contrib", "systemd")


def unit(name: str) -> configparser.RawConfigParser:
    """The unit file C{name}, keys as written; a key given twice keeps its
    last value."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    with open(os.path.join(UNITS, name), encoding="utf-8") as unit_file:
        parser.read_file(unit_file)
    return parser


class UnitFileTests(TestCase):
    def test_service_runs_twistd_unprivileged_and_hardened(self):
        service = unit("vaurien.service")["Service"]
        self.assertEqual(
            service["ExecStart"],
            "/usr/bin/env twistd --nodaemon --pidfile= vaurien --config /etc/vaurien/vaurien.ini",
        )
        expected = {
            "Type": "simple", "DynamicUser": "yes", "User": "vaurien", "NoNewPrivileges": "yes",
            "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
            "PrivateDevices": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "CapabilityBoundingSet": "", "LimitNOFILE": "20000",
            "MemoryDenyWriteExecute": "yes",
        }
        self.assertEqual({key: service.get(key) for key in expected}, expected)
        self.assertEqual(unit("vaurien.service")["Install"]["WantedBy"], "multi-user.target")

    def test_socket_listens_on_loopback_for_the_service(self):
        socket_unit = unit("vaurien.socket")
        self.assertEqual(socket_unit["Socket"]["ListenStream"], "127.0.0.1:8000")
        self.assertEqual(socket_unit["Install"]["WantedBy"], "sockets.target")

    def test_readme_gives_the_systemd_address(self):
        with open(os.path.join(UNITS, "README.md"), encoding="utf-8") as readme:
            self.assertIn("proxy = systemd:domain=INET:index=0", readme.read())

    async def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise SkipTest("systemd-analyze is not installed (Debian package systemd)")
        directory = self.mktemp()
        os.makedirs(directory)
        for name in ("vaurien.service", "vaurien.socket"):
            shutil.copy(os.path.join(UNITS, name), directory)
        out, err, status = await getProcessOutputAndValue(
            analyze, ["verify", "--man=no", "vaurien.service", "vaurien.socket"], path=directory
        )
        complaints = [line for line in err.decode().splitlines() if "vaurien." in line]
        self.assertEqual((status, complaints), (0, []), (out + err).decode())


class SystemdAddressTests(ConfigTestCase):
    def pass_socket(self) -> socket.socket:
        """Listen on loopback and hand the socket over as systemd would."""
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        self.addCleanup(listening.close)
        self.patch(_SystemdParser, "_sddaemon", ListenFDs([os.dup(listening.fileno())]))
        return listening

    async def test_config_accepts_and_the_proxy_adopts_the_socket(self):
        port = self.pass_socket().getsockname()[1]
        settings = parse("--proxy", "systemd:domain=INET:index=0", "--backend", f"127.0.0.1:{echo_backend(self)}")
        self.assertEqual(settings.proxies[0].listen, "systemd:domain=INET:index=0")
        service = makeService(settings)
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(await echoed(port, b"through systemd's socket"), b"through systemd's socket")

    def test_without_the_socket_says_so(self):
        self.patch(_SystemdParser, "_sddaemon", ListenFDs([]))
        message = self.assertRefused("--proxy", "systemd:domain=INET:index=0", "--backend", "127.0.0.1:9")
        self.assertIn("systemd passed no such socket", message)
        self.assertIn("--proxy 'systemd:domain=INET:index=0'", message)
