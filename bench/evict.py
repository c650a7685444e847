#!/usr/bin/env python3
"""bench/evict.py: drop files' clean pages from the page cache.

    evict.py PATH...

Each PATH, a file or every file under a directory: posix_fadvise
POSIX_FADV_DONTNEED over the whole file (dirty pages stay; the rest of
the machine's cache stays too, unlike drop_caches).  bench/compare and
bench/yield-micro evict, before every pass, PGDATA and the loop
testbed's backing files under it (the source's image on the xfs, the
xfs's image on the host): both loop devices run with dio=0, so a
"direct" read of a relation file is served from those files' caches,
and a pass that only dropped PGDATA's own pages read memory.
"""
import os
import sys


def drop(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    os.close(fd)


for p in sys.argv[1:]:
    if os.path.isdir(p):
        for d, _, fs in os.walk(p):
            for f in fs:
                drop(os.path.join(d, f))
    else:
        drop(p)
