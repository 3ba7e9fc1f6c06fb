#!/usr/bin/env python3
"""Small peers for the `edgebench wan` tests and benchmarks (loopback only).

  wan_tool.py tcp-echo PORT                 echo server (threads), runs until killed
  wan_tool.py udp-echo PORT                 UDP echo server
  wan_tool.py tcp-rtt PORT N [GAP_MS]       N one-byte ping-pongs on one connection (a pause
                                            of GAP_MS before each);
                                            prints: first_ms min_ms p50_ms avg_ms max_ms
                                            (first = connect + first ping-pong)
  wan_tool.py udp-rtt PORT N [GAP_MS]       same over UDP (a lost datagram is retried
                                            after 1 s and not counted); prints min p50 avg max
  wan_tool.py udp-count PORT N SIZE         sends N datagrams, prints how many echoes came back
  wan_tool.py tcp-send PORT MB [SEED]       sends MB MiB of pseudo-random data and half-closes,
                                            then prints the sha256 of what the peer echoed back
  wan_tool.py tcp-sink PORT                 server: reads everything, prints bytes+sha256 to stdout
  wan_tool.py tcp-stall PORT                server: accepts and never reads
  wan_tool.py halfclose PORT                client: sends 'hello', half-closes, expects 'hello'
                                            back then EOF; prints 'ok' or what went wrong
  wan_tool.py tcp-push PORT MB              client: writes MB MiB as fast as accepted,
                                            prints MiB written (stops on timeout of 5 s)
  wan_tool.py throughput PORT MB            client: sends MB MiB to a tcp-discard peer, prints MB/s
  wan_tool.py tcp-discard PORT              server: reads and discards, then closes
  wan_tool.py tcp-rst PORT                  server: reads one chunk, then resets (SO_LINGER 0)
  wan_tool.py expect-reset PORT             client: sends 'x', waits; prints 'reset MS' when
                                            reset (MS since connect) or what happened instead
"""
import hashlib
import os
import socket
import statistics
import sys
import threading
import time

HOST = "127.0.0.1"


def serve_tcp(port, handler):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, port))
    ls.listen(128)
    print("listening", flush=True)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                c.shutdown(socket.SHUT_WR)
                break
            c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


def sink(c):
    h = hashlib.sha256()
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        n += len(d)
        h.update(d)
    print(n, h.hexdigest(), flush=True)
    c.close()


def discard(c):
    while c.recv(1 << 18):
        pass
    c.close()


def rst(c):
    import struct
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def expect_reset(port):
    t = time.perf_counter()
    s = socket.create_connection((HOST, port))
    s.settimeout(10)
    try:
        s.sendall(b"x")
        d = s.recv(100)
        print("no reset: %s" % ("EOF" if not d else "got %r" % d))
    except ConnectionResetError:
        print("reset %.1f" % ((time.perf_counter() - t) * 1e3))
    except OSError as e:
        print("error %s" % e)


def stall(c):
    time.sleep(3600)


def tcp_rtt(port, n, gap=0.0):
    t0 = time.perf_counter()
    s = socket.create_connection((HOST, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    first = None
    for i in range(n + 1):
        if gap:
            time.sleep(gap / 1e3)
        t = time.perf_counter()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise SystemExit("short echo")
        now = time.perf_counter()
        if first is None:
            first = (now - t0) * 1e3
        else:
            samples.append((now - t) * 1e3)
    s.close()
    print("%.3f %.3f %.3f %.3f %.3f" % (first, min(samples), statistics.median(samples),
                                        statistics.mean(samples), max(samples)))


def udp_rtt(port, n, gap=0.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((HOST, port))
    s.settimeout(1.0)
    samples = []
    seq = 0
    while len(samples) < n:
        seq += 1
        msg = seq.to_bytes(8, "big")
        if gap:
            time.sleep(gap / 1e3)
        t = time.perf_counter()
        s.send(msg)
        try:
            while True:
                d = s.recv(64)
                if d == msg:
                    break
        except socket.timeout:
            continue
        samples.append((time.perf_counter() - t) * 1e3)
    print("%.3f %.3f %.3f %.3f" % (min(samples), statistics.median(samples),
                                   statistics.mean(samples), max(samples)))


def big_buffers(s):
    for opt in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            return
        except OSError:
            pass


def udp_count(port, n, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_buffers(s)
    s.connect((HOST, port))
    s.setblocking(False)
    got = set()
    payload = b"\0" * max(0, size - 8)
    for i in range(n):
        s.send(i.to_bytes(8, "big") + payload)
        if i % 20 == 19:
            time.sleep(0.002)
        try:
            while True:
                got.add(int.from_bytes(s.recv(65536)[:8], "big"))
        except BlockingIOError:
            pass
    end = time.time() + 1.0
    while time.time() < end:
        try:
            got.add(int.from_bytes(s.recv(65536)[:8], "big"))
        except BlockingIOError:
            time.sleep(0.01)
    print(len(got))


def stream(mb, seed):
    import random
    r = random.Random(seed)
    block = r.randbytes(1 << 16)
    for i in range(mb * 16):
        yield block[i % 7:] + block[:i % 7]


def tcp_send(port, mb, seed):
    s = socket.create_connection((HOST, port))
    want = hashlib.sha256()
    got = hashlib.sha256()
    box = {"n": 0}

    def reader():
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            box["n"] += len(d)
            got.update(d)

    th = threading.Thread(target=reader)
    th.start()
    for b in stream(mb, seed):
        want.update(b)
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    th.join()
    print(box["n"], want.hexdigest(), got.hexdigest())


def halfclose(port):
    s = socket.create_connection((HOST, port))
    s.sendall(b"hello")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    data = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        data += d
    print("ok" if data == b"hello" else "got %r" % data)


def tcp_push(port, mb):
    s = socket.create_connection((HOST, port))
    s.settimeout(5)
    block = b"\xa5" * (1 << 20)
    sent = 0
    try:
        for _ in range(mb):
            s.sendall(block)
            sent += 1
    except (socket.timeout, OSError):
        pass
    print(sent)


def throughput(port, mb):
    s = socket.create_connection((HOST, port))
    block = b"\x5a" * (1 << 20)
    t = time.perf_counter()
    for _ in range(mb):
        s.sendall(block)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    print("%.1f" % (mb / (time.perf_counter() - t)))


def main(a):
    cmd, port = a[0], int(a[1])
    if cmd == "tcp-echo":
        serve_tcp(port, echo)
    elif cmd == "tcp-sink":
        serve_tcp(port, sink)
    elif cmd == "tcp-stall":
        serve_tcp(port, stall)
    elif cmd == "tcp-rst":
        serve_tcp(port, rst)
    elif cmd == "expect-reset":
        expect_reset(port)
    elif cmd == "tcp-discard":
        serve_tcp(port, discard)
    elif cmd == "udp-echo":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_buffers(s)
        s.bind((HOST, port))
        print("listening", flush=True)
        while True:
            d, peer = s.recvfrom(65536)
            s.sendto(d, peer)
    elif cmd == "tcp-rtt":
        tcp_rtt(port, int(a[2]), float(a[3]) if len(a) > 3 else 0.0)
    elif cmd == "udp-rtt":
        udp_rtt(port, int(a[2]), float(a[3]) if len(a) > 3 else 0.0)
    elif cmd == "udp-count":
        udp_count(port, int(a[2]), int(a[3]))
    elif cmd == "tcp-send":
        tcp_send(port, int(a[2]), int(a[3]) if len(a) > 3 else 1)
    elif cmd == "halfclose":
        halfclose(port)
    elif cmd == "tcp-push":
        tcp_push(port, int(a[2]))
    elif cmd == "throughput":
        throughput(port, int(a[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
