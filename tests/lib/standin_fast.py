#!/usr/bin/env python3
"""A light stand-in backend for benchmarks: one asyncio loop, HTTP/1.1
keep-alive, answers every request with the same contract-1 response after
DELAY seconds. usage: standin_fast.py PORT REGION DELAY_S"""
import asyncio
import json
import sys

port, region, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ms = delay * 1000
lat = [round(ms / 3, 3)] * 5
body = {"region": region, "db_host": "127.0.0.1", "iterations": 5,
        "timestamp": "2026-12-01T10:00:00Z", "mode": "extended", "read_kind": "count"}
for op in ("insert", "read", "rtt"):
    body.update({f"{op}_latencies": lat, f"{op}_avg_ms": lat[0], f"{op}_min_ms": lat[0],
                 f"{op}_max_ms": lat[0], f"{op}_samples": 5, f"{op}_errors": 0, f"{op}_error": None})
data = json.dumps(body).encode()
head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
        f"X-Fly-Region: {region}\r\nContent-Length: {len(data)}\r\n\r\n").encode()


async def serve(reader, writer):
    try:
        while True:
            hdr = await reader.readuntil(b"\r\n\r\n")
            n = 0
            for line in hdr.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":", 1)[1])
            if n:
                await reader.readexactly(n)
            await asyncio.sleep(delay)
            writer.write(head + data)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
