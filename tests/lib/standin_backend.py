#!/usr/bin/env python3
"""A stand-in for `edgebench backend` that answers /api/rds/benchmark with
contract-1 responses, or misbehaves on purpose, for the collector's tests.
usage: standin_backend.py PORT REGION MODE [DELAY_S] [TOKEN]
MODE: ok | badjson | fail502 | hang (accept, never answer) | notbackend | busy (429 once)"""
import http.server
import json
import statistics
import sys
import time

port, region, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
token = sys.argv[5] if len(sys.argv) > 5 else ""
state = {"calls": 0}


def op(name, lat, errors=0, error=None):
    s = sorted(lat)
    pct = lambda q: s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] if s else None
    return {f"{name}_latencies": lat, f"{name}_avg_ms": statistics.mean(lat) if lat else None,
            f"{name}_min_ms": min(lat) if lat else None, f"{name}_max_ms": max(lat) if lat else None,
            f"{name}_p50_ms": pct(50), f"{name}_p95_ms": pct(95), f"{name}_p99_ms": pct(99),
            f"{name}_stddev_ms": statistics.pstdev(lat) if lat else None,
            f"{name}_samples": len(lat), f"{name}_errors": errors, f"{name}_error": error}


def body(iterations, call):
    base = delay * 1000
    ins = [round(2 * base + 1 + (i % 3) * 0.1 + call, 3) for i in range(iterations)]
    rd = [round(base + 0.5 + (i % 2) * 0.1, 3) for i in range(iterations)]
    rtt = [round(base + 0.2, 3) for _ in range(iterations)]
    b = {"region": region, "db_host": "127.0.0.1", "iterations": iterations,
         "timestamp": "2026-12-01T10:00:00Z", "mode": "extended", "read_kind": "count",
         "warmup": 1, "server_version": "15.0", "tls": {"enabled": False, "protocol": None},
         "elapsed_ms": 3 * base * iterations, "alloc_id": "standin0", "version": "standin"}
    b.update(op("insert", ins))
    b.update(op("read", rd))
    b.update(op("rtt", rtt))
    b["rtt_avg_ms"] = statistics.mean(rtt)
    b["insert_round_trips"] = b["insert_avg_ms"] / b["rtt_avg_ms"]
    b["read_round_trips"] = b["read_avg_ms"] / b["rtt_avg_ms"]
    return b


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, obj, raw=None, extra=()):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Fly-Region", region)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        state["calls"] += 1
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if not self.path.startswith("/api/rds/benchmark"):
            return self.send(404, {"error": "not found"})
        if token and self.headers.get("Authorization") != "Bearer " + token:
            return self.send(401, {"error": "missing or bad token"})
        if mode == "hang":
            time.sleep(3600)
        time.sleep(delay)
        if mode == "badjson":
            return self.send(200, None, raw=b"<html>oops</html>")
        if mode == "notbackend":
            return self.send(200, {"hello": "world"})
        if mode == "fail502":
            b = body(3, 0)
            b.update(op("insert", [], 3, "relation \"contacts\" does not exist"))
            b.update(op("read", [], 3, "relation \"contacts\" does not exist"))
            return self.send(502, b)
        if mode == "busy" and state["calls"] == 1:
            return self.send(429, {"error": "too many concurrent benchmarks"}, extra=[("Retry-After", "1")])
        it = 10
        for part in self.path.split("?", 1)[-1].split("&"):
            if part.startswith("iterations="):
                it = int(part[11:])
        self.send(200, body(it, state["calls"] - 1))

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer.request_queue_size = 1024
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
