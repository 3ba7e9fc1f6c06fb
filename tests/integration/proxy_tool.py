#!/usr/bin/env python3
"""Helpers for the proxy's integration tests: real TCP backends and clients.

  proxy_tool.py serve NAME PORT         line server: answers "NAME <line>" per line;
                                        reads a PROXY v1/v2 header if one comes first;
                                        "STATS" answers "max=N now=N total=N"
  proxy_tool.py ask HOST:PORT SRC [MSG]  one connection from source address SRC,
                                        prints the backend's reply line
  proxy_tool.py count HOST:PORT SRC N [GAP]  N sequential connections GAP s apart,
                                        prints NAME=count
  proxy_tool.py hold HOST:PORT SRC SECS  asks, waits SECS on the same connection, asks
                                        again; prints both answers' backend names
  proxy_tool.py holdmany HOST:PORT SECS SRC...  one connection per SRC, opened in
                                        order, each answered before the next opens;
                                        all held SECS, then asked again; prints
                                        both answers' backend names per connection
  proxy_tool.py stall HOST:PORT SRC MB [WAIT]  asks the backend for MB and never
                                        reads; prints "closed" once the proxy closes the
                                        connection (30 s at most), else "open"; with
                                        WAIT, reads after WAIT s and prints "reset N",
                                        "eof N" or "open N" (N bytes it could read)
  proxy_tool.py cut HOST:PORT SRC N      asks the backend for N bytes then a reset;
                                        prints "BYTES eof" or "BYTES reset"
  proxy_tool.py keep HOST:PORT SRC STOPFILE  asks, prints "connected NAME" (flushed),
                                        then asks every 0.1 s on the same connection
                                        until STOPFILE exists (60 s at most); prints
                                        "kept NAME answered=K asked=N"
  proxy_tool.py halfclose HOST:PORT SRC  sends a line, shuts its write half, prints
                                        everything it reads until EOF
  proxy_tool.py pp1 HOST:PORT CLAIMED    sends a PROXY v1 header claiming CLAIMED
                                        as the client, then asks
  proxy_tool.py bulk HOST:PORT SRC MB    MB up (counted by the backend) and MB down
                                        (read late, checksummed)
  proxy_tool.py burst HOST:PORT N HOLD   N concurrent connections held HOLD seconds,
                                        prints served=K refused=R
  proxy_tool.py many HOST:PORT N         N concurrent downloads of different sizes
                                        (0 to 300 KB; the backend closes after the
                                        last byte; every other client shuts its
                                        write half right after asking); prints
                                        ok=K bad=B
"""
import asyncio
import collections
import os
import socket
import struct
import sys
import time

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def parse_pp(buf):
    """Returns (consumed, source string) or (0, None) when no header."""
    if buf.startswith(b"PROXY "):
        end = buf.find(b"\r\n")
        if end < 0:
            return -1, None
        f = buf[:end].decode().split(" ")
        src = f[2] if len(f) >= 6 else "unknown"
        return end + 2, src
    if buf.startswith(PP2_SIG) and len(buf) >= 16:
        fam, alen = buf[13], struct.unpack("!H", buf[14:16])[0]
        if len(buf) < 16 + alen:
            return -1, None
        src = "local"
        if fam == 0x11:
            src = socket.inet_ntop(socket.AF_INET, buf[16:20])
        elif fam == 0x21:
            src = socket.inet_ntop(socket.AF_INET6, buf[16:32])
        return 16 + alen, src
    if PP2_SIG.startswith(buf[:12]) or b"PROXY ".startswith(buf[:6]):
        return -1, None
    return 0, None


class Stats:
    now = 0
    max = 0
    total = 0


async def serve_conn(name, reader, writer):
    buf = b""
    pp_src = None
    counted = False
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            if pp_src is None:
                n, src = parse_pp(buf)
                if n < 0 and len(buf) < 600:
                    continue
                if n > 0:
                    buf = buf[n:]
                    pp_src = src
                else:
                    pp_src = "none"
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if text == "STATS":
                    writer.write(f"max={Stats.max} now={Stats.now} total={Stats.total}\n".encode())
                    await writer.drain()
                    continue
                if not counted:
                    counted = True
                    Stats.now += 1
                    Stats.total += 1
                    Stats.max = max(Stats.max, Stats.now)
                if text.startswith("SEND "):
                    # download: N bytes of a fixed pattern, then close
                    n = int(text.split()[1])
                    block = bytes(range(256)) * 1024
                    while n > 0:
                        writer.write(block[:min(n, len(block))])
                        n -= min(n, len(block))
                        await writer.drain()
                    writer.close()
                    return
                if text.startswith("RESET "):
                    # N bytes, then a reset (SO_LINGER 0), not a FIN
                    writer.write(b"r" * int(text.split()[1]))
                    await writer.drain()
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if text.startswith("SINK"):
                    # bulk: count bytes until EOF, then answer the count
                    total = len(buf)
                    buf = b""
                    while True:
                        d = await reader.read(262144)
                        if not d:
                            break
                        total += len(d)
                    writer.write(f"{name} sunk={total}\n".encode())
                    await writer.drain()
                    writer.close()
                    return
                writer.write(f"{name} pp={pp_src} {text}\n".encode())
                await writer.drain()
        # half-close: answer after the client's EOF, then close
        writer.write(f"{name} bye\n".encode())
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if counted:
            Stats.now -= 1
        writer.close()


async def serve(name, port):
    srv = await asyncio.start_server(lambda r, w: serve_conn(name, r, w), "127.0.0.1", int(port),
                                     backlog=1024)
    print("ready", flush=True)
    async with srv:
        await srv.serve_forever()


def connect(hostport, src):
    host, port = hostport.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(10)
    if src:
        s.bind((src, 0))
    s.connect((host, int(port)))
    return s


def ask(hostport, src, msg="hello"):
    s = connect(hostport, src)
    s.sendall(msg.encode() + b"\n")
    f = s.makefile("rb")
    line = f.readline().decode().strip()
    s.close()
    return line


async def burst(hostport, n, hold):
    host, port = hostport.rsplit(":", 1)
    served = refused = 0

    async def one():
        nonlocal served, refused
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
            w.write(b"hi\n")
            await w.drain()
            line = await asyncio.wait_for(r.readline(), 10)
            if line:
                served += 1
                await asyncio.sleep(hold)
            else:
                refused += 1
            w.close()
        except (ConnectionError, OSError, asyncio.TimeoutError):
            refused += 1

    await asyncio.gather(*(one() for _ in range(n)))
    print(f"served={served} refused={refused}")


async def many(hostport, n):
    host, port = hostport.rsplit(":", 1)
    block = bytes(range(256)) * 1024
    ok = bad = 0

    async def one(i):
        nonlocal ok, bad
        size = (i * 7919) % 300000 if i % 5 else i % 3  # some of 0, 1 or 2 bytes
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
            w.write(f"SEND {size}\n".encode())
            await w.drain()
            if i % 2:
                w.write_eof()  # the request and our FIN together
            got = await asyncio.wait_for(r.read(), 20)  # to the EOF
            w.close()
            if got == (block * (size // len(block) + 1))[:size]:
                ok += 1
            else:
                bad += 1
                print(f"connection {i}: {len(got)} of {size} bytes", file=sys.stderr)
        except (ConnectionError, OSError, asyncio.TimeoutError) as e:
            bad += 1
            print(f"connection {i}: {e!r}", file=sys.stderr)

    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"ok={ok} bad={bad}")


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        asyncio.run(serve(sys.argv[2], sys.argv[3]))
    elif cmd == "ask":
        print(ask(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "hello"))
    elif cmd == "count":
        c = collections.Counter()
        gap = float(sys.argv[5]) if len(sys.argv) > 5 else 0
        for _ in range(int(sys.argv[4])):
            c[ask(sys.argv[2], sys.argv[3]).split(" ")[0]] += 1
            time.sleep(gap)
        print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))
    elif cmd == "hold":
        s = connect(sys.argv[2], sys.argv[3])
        f = s.makefile("rb")
        s.sendall(b"one\n")
        a = f.readline().decode().split(" ")[0]
        time.sleep(float(sys.argv[4]))
        s.sendall(b"two\n")
        b = f.readline().decode().split(" ")[0]
        print(a, b or "EOF")
    elif cmd == "holdmany":
        conns = []
        for src in sys.argv[4:]:
            s = connect(sys.argv[2], src)
            f = s.makefile("rb")
            s.sendall(b"one\n")
            conns.append((s, f, f.readline().decode().split(" ")[0] or "EOF"))
        time.sleep(float(sys.argv[3]))
        out = []
        for s, f, a in conns:
            s.sendall(b"two\n")
            out.append(f"{a} {f.readline().decode().split(' ')[0] or 'EOF'}")
        print(" ".join(out))
    elif cmd == "stall":
        s = connect(sys.argv[2], sys.argv[3])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(f"SEND {int(sys.argv[4]) * 1024 * 1024}\n".encode())
        # not reading: the proxy's queue toward us fills and stays full;
        # a closed connection shows as an error on sending
        if len(sys.argv) > 5:
            # wait that long, then read what is left: how did it end?
            time.sleep(float(sys.argv[5]))
            got, how = 0, "eof"
            try:
                while True:
                    d = s.recv(1 << 16)
                    if not d:
                        break
                    got += len(d)
            except ConnectionResetError:
                how = "reset"
            except socket.timeout:
                how = "open"
            print(how, got)
            sys.exit(0)
        deadline = time.monotonic() + 30
        state = "open"
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                s.send(b"x")
            except OSError:
                state = "closed"
                break
        print(state)
    elif cmd == "cut":
        s = connect(sys.argv[2], sys.argv[3])
        s.sendall(f"RESET {int(sys.argv[4])}\n".encode())
        got, how = 0, "eof"
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += len(d)
        except ConnectionResetError:
            how = "reset"
        print(got, how)
    elif cmd == "keep":
        s = connect(sys.argv[2], sys.argv[3])
        f = s.makefile("rb")
        s.sendall(b"first\n")
        name = f.readline().decode().split(" ")[0]
        print("connected", name or "EOF", flush=True)
        asked = answered = 0
        deadline = time.monotonic() + 60
        while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
            time.sleep(0.1)
            asked += 1
            s.sendall(b"again\n")
            if f.readline().decode().split(" ")[0] == name:
                answered += 1
        print("kept", name or "EOF", f"answered={answered}", f"asked={asked}")
    elif cmd == "halfclose":
        s = connect(sys.argv[2], sys.argv[3])
        s.sendall(b"last words\n")
        s.shutdown(socket.SHUT_WR)
        print(s.makefile("rb").read().decode().strip().replace("\n", " | "))
    elif cmd == "pp1":
        s = connect(sys.argv[2], None)
        s.sendall(f"PROXY TCP4 {sys.argv[3]} 127.0.0.1 40000 443\r\nhello\n".encode())
        print(s.makefile("rb").readline().decode().strip())
    elif cmd == "bulk":
        # bulk HOST:PORT SRC MB: upload MB (counted by the backend), then
        # download MB read slowly at first (backpressure), checksummed
        import hashlib
        n = int(sys.argv[4]) * 1024 * 1024
        s = connect(sys.argv[2], sys.argv[3])
        s.sendall(b"SINK\n")
        block = bytes(range(256)) * 1024
        left = n
        while left > 0:
            s.sendall(block[:min(left, len(block))])
            left -= min(left, len(block))
        s.shutdown(socket.SHUT_WR)
        up = s.makefile("rb").read().decode().strip()
        s.close()
        s = connect(sys.argv[2], sys.argv[3])
        s.sendall(f"SEND {n}\n".encode())
        h, got = hashlib.sha256(), 0
        time.sleep(1.0)  # let the proxy's buffers fill: it must stop reading
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            h.update(d)
            got += len(d)
        want = hashlib.sha256()
        left = n
        while left > 0:
            want.update(block[:min(left, len(block))])
            left -= min(left, len(block))
        print(up.split(" ", 1)[1], f"down={got}", "sha=" + ("ok" if h.digest() == want.digest() else "BAD"))
    elif cmd == "burst":
        asyncio.run(burst(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    elif cmd == "many":
        asyncio.run(many(sys.argv[2], int(sys.argv[3])))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
