"""aiexport: the US export controls on AI compute, executable, explainable and auditable."""

import os

__version__ = "0.1.0"

# Polars' allocator (jemalloc) reads its options from this variable when Polars is first imported
# in a process. Polars itself asks it to return freed memory to the system after 0.5-1 s
# (polars/__init__.py); a batch run frees and allocates a chunk's columns over and over, and the
# pages it gave back were faulted in again: a tenth of a run's CPU went to system time. Kept 10 s,
# jemalloc's own default, 1M lines cost 1.2-1.8 s less of it (docs/performance.md, "Order books").
ALLOCATOR_VARIABLE = "_RJEM_MALLOC_CONF"
MALLOC_CONF = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
# What Polars writes there when imported with the variable unset (a value the user set, Polars
# appends to this)
_POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def tune_allocator() -> None:
    """Set Polars' allocator options for this process, if Polars is not imported yet (the CLI
    calls this first), and for the processes it starts (they inherit the environment). Options the
    user set are left alone, Polars' own values among them."""
    import sys

    given = os.environ.get(ALLOCATOR_VARIABLE)
    if not given or ("polars" in sys.modules and given == _POLARS_OWN):
        os.environ[ALLOCATOR_VARIABLE] = MALLOC_CONF
