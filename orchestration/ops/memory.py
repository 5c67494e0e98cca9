"""Give memory back to the operating system between the nightly job's steps.

`cfa run` runs every step in one process, and the dbt build starts its own beside it: memory a
step freed but the allocator kept (Python's, Arrow's) would count against the build's peak while
dbt runs. A national drop's ingestion and checks free gigabytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def give_back_memory() -> None:
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):  # glibc: hand freed heap pages back
            libc.malloc_trim(0)
