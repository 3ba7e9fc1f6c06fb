#!/usr/bin/env python3
"""Exit 0 when a PNG screenshot is not blank: enough of its pixels differ from
the most common one (pure Python: zlib over the IDAT chunks, no imaging library)."""
import struct
import sys
import zlib


def main(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        print(f"{path}: not a PNG")
        return 1
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(color, 4) * max(depth // 8, 1)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp + 1
    counts = {}
    # sample every 4th row and column (filter bytes make exact pixels moot for a
    # blank test: a blank page decodes to long runs of one value)
    for y in range(0, height, 4):
        row = raw[y * stride + 1:(y + 1) * stride]
        for x in range(0, width * bpp, 4 * bpp):
            px = row[x:x + bpp]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    top = max(counts.values())
    share = 1 - top / total
    print(f"{path}: {width}x{height}, {share:.1%} of sampled pixels differ from the background")
    return 0 if share > 0.01 else 1


sys.exit(main(sys.argv[1]))
