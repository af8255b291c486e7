"""http: wrk on a tiny nginx response through C{--protocol http}.

nginx (Debian's) runs from a generated config in a temp dir: one worker,
no access log, C{return 200 "hello\\n"}. C{wrk -t2 -c50 -d10s --latency}
direct, through vaurien, through portforward and through HAProxy (mode
http): req/s, p50 and p99.
"""
from __future__ import annotations

import os
import re

from bench import processes, report

TOOLS = ["wrk", "nginx", "haproxy"]

_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello\\n"; }}
    }}
}}
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        raise ValueError(f"wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(port: int, seconds: int) -> dict:
    out = processes.run(["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency",
                         f"http://{processes.HOST}:{port}/"], timeout=seconds + 60)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": p50, "p99": p99,
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock.group(1) if sock else ""}


def run(ctx) -> list[dict]:
    seconds = 3 if ctx.quick else 10
    rps = report.metric("http", f"wrk -c50 {seconds}s req/s", "req/s")
    p50 = report.metric("http", "wrk p50", "ms")
    p99 = report.metric("http", "wrk p99", "ms")
    backend = processes.free_port()
    with processes.tempdir("bench-nginx-") as d:
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(_CONF.format(d=d, port=backend))
        os.chmod(conf, 0o644)
        nginx = processes.which("nginx")
        with processes.Process("nginx", [nginx, "-c", conf, "-p", d], backend), \
                ctx.proxies(backend, "http", haproxy_mode="http") as ports:

            def measure(mode, r):
                res = wrk(ports[mode], seconds)
                report.add(rps, mode, res["rps"])
                report.add(p50, mode, res["p50"])
                report.add(p99, mode, res["p99"])
                bad = f" non-2xx {res['non2xx']}" if res["non2xx"] else ""
                bad += f" socket errors {res['socket_errors']}" if res["socket_errors"] else ""
                if bad:
                    rps["note"] = (rps.get("note") or "") + f"round {r} {mode}:{bad}; "
                ctx.log(f"http round {r} {mode}: {res['rps']:,.0f} req/s p50 {res['p50']:.2f} ms "
                        f"p99 {res['p99']:.2f} ms{bad}")

            ctx.interleave(ctx.modes(), measure)
    return [rps, p50, p99]
