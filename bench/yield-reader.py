#!/usr/bin/env python3
"""bench/yield-reader.py: a paced reader for bench/yield-micro.

    yield-reader.py MODE CHUNK RATE SECONDS FILE...

Reads the data regions (SEEK_DATA/SEEK_HOLE) of each FILE in turn, over
and over, CHUNK bytes per pread, at most RATE bytes/s (a GCRA bucket with
20 ms of burst, like common/ratelimit.c), for SECONDS; MODE is "direct"
(O_DIRECT) or "buffered" (page cache, each file's pages dropped after
each pass).  Prints "bytes seconds" at the end.

Why Python: the reader must pace each pread (O_DIRECT, a chosen size)
and skip a sparse clone's holes.  dd has neither pacing nor SEEK_DATA
(it would read the holes, which cost no I/O and so falsify the rate); a
C reader would need a build step and a binary for a bench-only tool.
"""
import mmap
import os
import sys
import time

mode, chunk, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
files = sys.argv[5:]
flags = os.O_RDONLY | (os.O_DIRECT if mode == "direct" else 0)
buf = mmap.mmap(-1, chunk)
start = time.monotonic()
end = start + secs
tat = start
total = 0


def regions(fd):
    size = os.fstat(fd).st_size
    pos = 0
    while pos < size:
        try:
            a = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            return
        b = os.lseek(fd, a, os.SEEK_HOLE)
        yield a, b
        pos = b


def pace(n):
    global tat
    now = time.monotonic()
    tat = max(tat, now) + n / rate
    wait = tat - now - 0.02
    if wait > 0:
        time.sleep(wait)


while time.monotonic() < end:
    for f in files:
        fd = os.open(f, flags)
        for a, b in regions(fd):
            a -= a % 4096
            while a < b and time.monotonic() < end:
                n = min(chunk, (b - a + 4095) // 4096 * 4096)
                if rate:
                    pace(n)
                got = os.preadv(fd, [memoryview(buf)[:n]], a)
                if got <= 0:
                    break
                total += got
                a += got
        if mode != "direct":
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        if time.monotonic() >= end:
            break
print(total, round(time.monotonic() - start, 2))
