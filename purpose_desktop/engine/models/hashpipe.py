"""sha256 on its own thread, fed from a small pool of reused buffers, so hashing overlaps the I/O that fills them.

A download reads each chunk straight into a pool buffer (``readinto``: no per-chunk allocation or copy),
hands it to the hash thread and writes it to disk while the thread hashes it; hashlib releases the GIL
for large buffers, so the two run on two cores. A buffer returns to the pool only after its bytes are
hashed, so the reader can never overwrite bytes the hash has not seen yet.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 1 << 20  # one read; a cancel check every ~10 ms on a 100 MB/s link
DEPTH = 4  # buffers in flight: the reader may run this far ahead of the hash


class HashPipe:
    """``buf = pipe.buffer()``; fill it; ``pipe.submit(buf, n)``; …; ``pipe.hexdigest()`` (waits for the queue)."""

    def __init__(self, chunk: int = CHUNK, depth: int = DEPTH, new_hash: Callable[[], Any] = hashlib.sha256):
        self._h = new_hash()
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(depth):
            self._free.put(bytearray(chunk))
        self._todo: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self.fed = 0  # bytes submitted so far
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        update = self._h.update
        while (item := self._todo.get()) is not None:
            buf, n = item
            update(buf if n == len(buf) else memoryview(buf)[:n])
            self._free.put(buf)

    def buffer(self) -> bytearray:
        """A free buffer (blocks while all are waiting to be hashed)."""
        return self._free.get()

    def submit(self, buf: bytearray, n: int) -> None:
        """Hash the first ``n`` bytes of ``buf`` (n == 0 just returns it); do not refill it before the next buffer()."""
        if n:
            self.fed += n
            self._todo.put((buf, n))
        else:
            self._free.put(buf)

    def feed_file(self, path: Path, on_chunk: Callable[[int], None] | None = None) -> int:
        """Hash ``path``'s bytes (a resumed download's prefix); returns how many. ``on_chunk(bytes so far)``."""
        n = 0
        with open(path, "rb", buffering=0) as f:
            while True:
                buf = self.buffer()
                got = f.readinto(buf)
                self.submit(buf, got or 0)
                if not got:
                    return n
                n += got
                if on_chunk:
                    on_chunk(n)

    def close(self) -> None:
        """Finish hashing what was submitted and stop the thread (idempotent)."""
        if self._thread.is_alive():
            self._todo.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._h.hexdigest()
