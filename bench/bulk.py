"""bulk: 1 GiB each way through C{--protocol tcp} (dummy), measured by iperf3.

C{iperf3 -s -1} is started fresh for each measurement (one test, then it
exits); the client sends C{-n 1G} to it (client->server) and with C{-R}
receives it (server->client). MB/s is the receiver's count, 10^6 bytes.
"""
from __future__ import annotations

import json

from bench import processes, report

TOOLS = ["iperf3", "haproxy"]


def iperf(port: int, backend: int, size: str, reverse: bool, timeout: float) -> float:
    """One iperf3 test to C{port} (the server listens on C{backend}); MB/s."""
    server = processes.Process("iperf3", ["iperf3", "-s", "-1", "-p", str(backend),
                                          "-B", processes.HOST], backend, ready="bound")
    try:
        argv = ["iperf3", "-c", processes.HOST, "-p", str(port), "-n", size, "--json"]
        if reverse:
            argv.append("-R")
        doc = json.loads(processes.run(argv, timeout))
        if doc.get("error"):
            raise RuntimeError(f"iperf3: {doc['error']}")
        return doc["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
    finally:
        server.stop()


def run(ctx) -> list[dict]:
    size = "256M" if ctx.quick else "1G"
    target = {"text": "ratio >= 0.50", "on": "ratio", "min": 0.5}
    up = report.metric("bulk", f"tcp {size} client->server", "MB/s", target)
    down = report.metric("bulk", f"tcp {size} server->client", "MB/s", target)
    backend = processes.free_port()
    # The proxies are started before the iperf3 server exists: the readiness
    # check connects to the proxy only, which accepts without a backend.
    with ctx.proxies(backend, "tcp") as ports:

        def measure(mode, r):
            for m, rev in ((up, False), (down, True)):
                mbs = iperf(ports[mode], backend, size, rev, timeout=300)
                report.add(m, mode, mbs)
                ctx.log(f"bulk round {r} {mode} {'down' if rev else 'up'}: {mbs:.0f} MB/s")

        ctx.interleave(ctx.modes(), measure)
    return [up, down]
