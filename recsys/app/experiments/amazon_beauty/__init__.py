"""The Amazon Beauty experiment (dataset ``amazon-beauty``): ``experiment`` is the adapter; ``sequences`` reads the
data and builds leave-one-out views, ``sources`` fits the candidate sources, ``candidates`` fuses them into
reranker groups with features."""
