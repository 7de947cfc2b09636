"""Benchmarks (``python -m bench.run`` and the scripts next to it); figures, not tests.

``recsys`` is imported first: its ``__init__`` sets the threading defaults the service runs with (one OpenBLAS
thread, passive OpenMP waits) before numpy, FAISS or LightGBM load their runtimes. Without it an in-process
measurement ran numpy's small matrix products on OpenBLAS threads that spin between calls: a product list then cost
~23 ms of process CPU of which only ~16 ms ran on the calling thread (2026-12-03, bench/PROFILE.md).
"""

import recsys  # noqa: F401
