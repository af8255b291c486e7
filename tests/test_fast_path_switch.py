"""The switch over the fast paths (L{vaurien.fastpath}): C{--no-fast-path}
(C{no_fast_path = true} in INI) and C{VAURIEN_NO_FAST_PATH=1} turn them
off, and so does an installed Twisted that lacks what they read, with one
warning line; the proxy works in every case."""
from __future__ import annotations

import os
import textwrap

from attrs import evolve
from twisted.internet import reactor, tcp
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import TestCase

from tests.proxying import echo_backend, proxy_settings, start_proxy
from tests.test_service import echoed
from vaurien import fastpath
from vaurien.config import Settings, VaurienOptions
from vaurien.fastpath.check import missing
from vaurien.service import makeService


def parse(*argv: str) -> Settings:
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


_CONNECTION = tcp.Connection


class _WithoutTempDataLen(_CONNECTION):
    """A TCP transport as a Twisted that renamed C{_tempDataLen} would make
    it. Put in C{twisted.internet.tcp} in place of C{Connection}, the
    check finds it; Twisted's own transports, which call
    C{Connection.__init__} by that name, keep theirs (they use it)."""

    def __init__(self, *args, **kwargs):
        _CONNECTION.__init__(self, *args, **kwargs)
        if type(self) is _WithoutTempDataLen:
            del self._tempDataLen


class SwitchTests(TestCase):

    def setUp(self):
        self.patch(os, "environ", {k: v for k, v in os.environ.items()
                                   if k != fastpath.ENVIRONMENT})

    def test_on_by_default(self):
        """The installed Twisted has all the fast paths read; a proxy has
        them."""
        self.assertEqual(missing(reactor), [])
        port, factory = start_proxy(self, proxy_settings(echo_backend(self)))
        proxy = factory.proxy
        self.assertTrue(proxy.fast_paths)
        self.assertIsNotNone(proxy.lane)
        self.assertIs(proxy.send_now, fastpath.send_now)

    def test_option_and_ini(self):
        """C{--no-fast-path} on the command line, C{no_fast_path = true}
        in C{[vaurien]} or a C{[proxy:NAME]} section."""
        self.assertFalse(parse("--backend", "127.0.0.1:9").proxies[0].no_fast_path)
        off = parse("--backend", "127.0.0.1:9", "--no-fast-path")
        self.assertTrue(off.proxies[0].no_fast_path)
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as ini:
            ini.write(textwrap.dedent("""\
                [vaurien]
                backend = 127.0.0.1:9
                no_fast_path = true
                [proxy:a]
                proxy = 127.0.0.1:8001
                [proxy:b]
                proxy = 127.0.0.1:8002
                no_fast_path = false
            """))
        proxies = {p.name: p.no_fast_path for p in parse("--config", path).proxies}
        self.assertEqual(proxies, {"a": True, "b": False})

    async def check_off(self, settings):
        port, factory = start_proxy(self, settings)
        proxy = factory.proxy
        self.assertFalse(proxy.fast_paths)
        self.assertEqual((proxy.lane, proxy.pipes), (None, None))
        self.assertEqual(await echoed(port, b"x" * 100_000), b"x" * 100_000)

    def test_settings_turn_them_off(self):
        return self.check_off(proxy_settings(echo_backend(self), no_fast_path=True))

    def test_environment_turns_them_off(self):
        os.environ[fastpath.ENVIRONMENT] = "1"
        return self.check_off(proxy_settings(echo_backend(self)))

    async def test_missing_twisted_internal(self):
        """A Twisted whose TCP transport lacks C{_tempDataLen}: one warning
        line names it, and a proxy started the usual way (makeService)
        passes bytes without the fast paths."""
        self.patch(tcp, "Connection", _WithoutTempDataLen)
        self.patch(fastpath, "warned", set())
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)

        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        port = taken.getHost().port
        await taken.stopListening()
        backend = echo_backend(self)
        proxies = tuple(
            evolve(proxy_settings(backend), name=name, listen=f"tcp:{listen}:interface=127.0.0.1")
            for name, listen in (("one", port), ("two", 0))
        )
        service = makeService(Settings(proxies=proxies))
        service.startService()
        self.addCleanup(service.stopService)

        self.assertEqual(await echoed(port, b"through" * 10_000), b"through" * 10_000)
        warnings = [
            e for e in events
            if e.get("log_level") == LogLevel.warn and "fast paths" in e.get("log_format", "")
        ]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertEqual(warnings[0]["missing"], "twisted.internet.tcp.Connection._tempDataLen")
        self.assertEqual([service.proxies.proxy(name).fast_paths for name in ("one", "two")],
                         [False, False])
