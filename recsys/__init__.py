"""recsys-match: creator–product matchmaking for CPS affiliate marketplaces (the core: config, schema, store,
datasets, synthetic marketplace, rules, metrics)."""

import os

# Threading defaults for a small shared machine (override by setting the variables yourself):
# - OpenMP threads that spin while waiting make LightGBM and FAISS many times slower whenever another process
#   competes for the cores (measured 7x on 2 cores);
# - multi-threaded OpenBLAS shows the same collapse (a 240k x 111 Gram matrix: 0.13 s on 1 thread, 1.9 s on 2
#   under load), and our BLAS work is small, so it runs on one thread.
# Both must be set before numpy / LightGBM / FAISS load their runtimes, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
