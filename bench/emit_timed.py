"""The wrapped program of bench_program_time.py: copies FILE to stdout, then notes its own times.

    python emit_timed.py FILE STAMP

Writes "START END" (time.time(), seconds) to STAMP once its last byte has been written, i.e.
once the last write() returned: the moment a user's program would be done. Plain Python with
no imports beyond os/sys/time, so each peer pays the same start-up.
"""

import os
import sys
import time

start = time.time()
src, stamp = sys.argv[1], sys.argv[2]
fd = os.open(src, os.O_RDONLY)
out = sys.stdout.fileno()
while True:
    data = os.read(fd, 65536)
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]
end = time.time()
with open(stamp, "w") as f:
    f.write(f"{start} {end}\n")
