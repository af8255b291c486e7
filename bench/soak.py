"""soak: mixed faults for N minutes; no lost or reordered bytes, RSS flat.

Not in the default set: C{python -m bench --only soak --minutes 10}.

Two proxies with C{--handler 20:delay,10:error --handler-delay-sleep 0.01}:

- tcp, in front of an echo server. The handler is chosen per connection,
  so each client connection sends 20 sequence-numbered messages and must
  get each back exactly. A connection that gets other bytes is counted as
  faulted (the error handler answers random bytes) — unless the bytes it
  got are one of its own messages out of place, which is a reordering and
  a violation. The share of faulted connections is printed next to the
  configured 10%.
- redis, in front of redis-server: each client pipelines SET of a unique
  key and value then GET of it. A reply is right when it is C{+OK}/the
  value, or C{-ERR} (an injected error); a GET whose SET was refused must
  answer nil. Any other reply (another key's value, a lost reply) is a
  violation. Every L{TOGGLE_EVERY} seconds the control API switches this
  proxy between C{dummy} alone (its connections skim) and the faults
  (they cut frames again at their next point of rest), so the switches
  happen under load, on connections that stay open.

Both proxies' VmRSS is sampled every 10 s; "flat" means the median of the
last third of the samples is within 5% (or 2 MiB) of the first third's
(after the first minute of warm-up when the run is long enough).
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time

from bench import processes, report

TOOLS = ["redis-server"]
FAULTS = "20:delay,10:error"
OPTIONS = ["--handler-delay-sleep", "0.01"]
MESSAGES = 20
#: Seconds between two switches of the redis proxy's handlers.
TOGGLE_EVERY = 5.0
#: Random bytes per message (sent hex-encoded, so twice as many on the wire).
PAYLOAD = 512
READ_TIMEOUT = 2.0


class Counts(dict):
    def inc(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n


async def _read_n(reader, n: int, timeout: float) -> bytes:
    """Up to C{n} bytes, whatever has come when C{timeout} passes or the peer closes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    buf = b""
    while len(buf) < n:
        left = end - loop.time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(n - len(buf)), left)
        except asyncio.TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


async def _tcp_client(port: int, cid: int, deadline: float, c: Counts) -> None:
    conn = 0
    while time.monotonic() < deadline:
        conn += 1
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(processes.HOST, port), 5)
        except (OSError, asyncio.TimeoutError):
            c.inc("tcp_connect_failed")
            await asyncio.sleep(0.1)
            continue
        sent = [f"<{cid}:{conn}:{i}:".encode() + os.urandom(PAYLOAD).hex().encode() + b">"
                for i in range(MESSAGES)]
        state = "exact"
        try:
            for i, msg in enumerate(sent):
                writer.write(msg)
                got = await _read_n(reader, len(msg), READ_TIMEOUT)
                if got == msg:
                    c.inc("tcp_bytes_checked", len(msg))
                    continue
                if msg.startswith(got):
                    state = "short"  # closed or timed out, nothing wrong seen
                elif any(other[:24] in got for j, other in enumerate(sent) if j != i):
                    state = "reordered"  # another of our own messages, out of place
                else:
                    state = "faulted"  # bytes we never sent: the error handler
                break
        except (OSError, ConnectionError):
            state = "short"
        finally:
            writer.close()
        c.inc(f"tcp_conns_{state}")


async def _redis_client(port: int, cid: int, deadline: float, c: Counts) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(processes.HOST, port), 5)
    except (OSError, asyncio.TimeoutError):
        c.inc("redis_connect_failed")
        return
    i = 0
    try:
        while time.monotonic() < deadline:
            batch = []
            keys = []
            for _ in range(5):
                i += 1
                k = f"soak:{cid}:{i}".encode()
                v = os.urandom(6).hex().encode()
                keys.append((k, v))
                batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
                batch.append(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
            writer.write(b"".join(batch))
            for k, v in keys:
                set_reply = await asyncio.wait_for(reader.readline(), 10)
                get_line = await asyncio.wait_for(reader.readline(), 10)
                get_value = None
                if get_line.startswith(b"$") and get_line[1:2] != b"-":
                    get_value = (await asyncio.wait_for(
                        reader.readexactly(int(get_line[1:]) + 2), 10))[:-2]
                set_ok = set_reply == b"+OK\r\n"
                set_err = set_reply.startswith(b"-")
                if not (set_ok or set_err):
                    c.inc("redis_violations")
                    continue
                c.inc("redis_set_errors" if set_err else "redis_set_ok")
                if get_line.startswith(b"-"):
                    c.inc("redis_get_errors")
                elif get_value == v and set_ok:
                    c.inc("redis_get_ok")
                elif get_line == b"$-1\r\n" and set_err:
                    c.inc("redis_get_nil_after_error")
                else:
                    c.inc("redis_violations")
    except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        c.inc("redis_clients_broken")
        c.setdefault("redis_broken_examples", []).append(f"{type(e).__name__}: {e}"[:200])
    finally:
        writer.close()


async def _put_behavior(port: int, body: bytes) -> bytes:
    """PUT C{body} to the control API's /behavior; the status line."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(processes.HOST, port), 5)
    try:
        writer.write(b"PUT /behavior HTTP/1.1\r\nHost: vaurien\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


async def _toggle(port: int, deadline: float, c: Counts) -> None:
    """Switch the redis proxy between dummy and the faults until C{deadline}."""
    bodies = [b'{"name": "dummy"}',
              b'{"name": "%s", "delay": {"sleep": 0.01}}' % FAULTS.encode()]
    while time.monotonic() + TOGGLE_EVERY < deadline:
        await asyncio.sleep(TOGGLE_EVERY)
        body = bodies[c.get("redis_switches", 0) % 2]
        status = await _put_behavior(port, body)
        c.inc("redis_switches" if b" 200 " in status else "redis_switches_failed")
    await _put_behavior(port, bodies[1])


async def _sample_rss(pids: dict, every: float, deadline: float, samples: dict) -> None:
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            try:
                samples.setdefault(name, []).append(processes.rss_kib(pid))
            except (OSError, RuntimeError):
                samples.setdefault(name, []).append(None)
        await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))


async def _soak(tcp_port, redis_port, control_port, pids, seconds, clients, c, samples):
    deadline = time.monotonic() + seconds
    tasks = [_sample_rss(pids, 10.0, deadline + 1, samples), _toggle(control_port, deadline, c)]
    tasks += [_tcp_client(tcp_port, i, deadline, c) for i in range(clients)]
    tasks += [_redis_client(redis_port, i, deadline, c) for i in range(clients)]
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 60)


def verdict(series: list) -> tuple[str, float]:
    vals = [v for v in series if v is not None]
    if len(vals) > 12:
        vals = vals[6:]  # skip the first minute
    if len(vals) < 3:
        return "too short to tell", 0.0
    third = max(1, len(vals) // 3)
    first, last = statistics.median(vals[:third]), statistics.median(vals[-third:])
    growth = last - first
    flat = growth <= max(0.05 * first, 2048)
    return ("flat" if flat else "GROWING"), growth / 1024


def run(ctx) -> list[dict]:
    seconds = ctx.minutes * 60
    processes.raise_nofile()
    c = Counts()
    samples: dict = {}
    backend = processes.free_port()
    control = processes.free_port()
    server = ["redis-server", "--port", str(backend), "--bind", processes.HOST, "--save", "",
              "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"]
    with processes.helper("echo") as echo, \
            processes.Process("redis-server", server, backend), \
            processes.vaurien(echo.port, "tcp", FAULTS, extra=OPTIONS) as vt, \
            processes.vaurien(backend, "redis", FAULTS,
                              extra=OPTIONS + ["--http", "--http-port", str(control)]) as vr:
        ctx.log(f"soak: {ctx.minutes} min, {ctx.clients} tcp + {ctx.clients} redis clients")
        asyncio.run(_soak(vt.port, vr.port, control, {"tcp": vt.pid, "redis": vr.pid},
                          seconds, ctx.clients, c, samples))
        alive = {"tcp": vt.alive(), "redis": vr.alive()}
    ctx.log(f"soak counts: {dict(c)}")
    conns = sum(c.get(f"tcp_conns_{k}", 0) for k in ("exact", "faulted", "short", "reordered"))
    zero = {"text": "== 0", "on": "value", "max": 0}
    out = []

    def row(name, value, unit="", target=None, note=""):
        m = report.metric("soak", name, unit, target, note, ratio=False)
        report.add(m, "vaurien", value)
        out.append(m)

    row("tcp connections checked", conns, "conns")
    row("tcp conns exact (dummy/delay)", c.get("tcp_conns_exact", 0), "conns")
    row("tcp conns faulted", 100.0 * c.get("tcp_conns_faulted", 0) / max(conns, 1), "%",
        note="the error handler's share is 10% of connections")
    row("tcp conns short (closed/timed out)", c.get("tcp_conns_short", 0), "conns")
    row("tcp conns reordered", c.get("tcp_conns_reordered", 0), "conns", zero)
    row("tcp bytes checked", c.get("tcp_bytes_checked", 0) / 1e6, "MB")
    calls = c.get("redis_set_ok", 0) + c.get("redis_set_errors", 0)
    row("redis SET+GET pairs checked", calls, "pairs")
    row("redis replies -ERR", 100.0 * (c.get("redis_set_errors", 0) + c.get("redis_get_errors", 0))
        / max(2 * calls, 1), "%",
        note="the error handler's share is 10% of calls while the faults are in force, half the time")
    row("redis handler switches under load", c.get("redis_switches", 0), "switches",
        note=f"dummy <-> {FAULTS} every {TOGGLE_EVERY:.0f} s; failed: "
             f"{c.get('redis_switches_failed', 0)}")
    row("redis wrong or lost replies", c.get("redis_violations", 0), "replies", zero)
    row("redis clients broken", c.get("redis_clients_broken", 0), "clients", zero,
        note="; ".join(c.get("redis_broken_examples", [])[:3]))
    for name, series in samples.items():
        word, growth = verdict(series)
        vals = [v for v in series if v is not None]
        row(f"{name} proxy RSS growth ({word})", growth, "MiB",
            {"text": "flat (<= 5% or 2 MiB)", "on": "value", "max": max(2.0, 0.05 * vals[0] / 1024)}
            if vals else None,
            note=f"{len(vals)} samples every 10 s, KiB: {vals}; alive at end: {alive[name]}")
    return out
