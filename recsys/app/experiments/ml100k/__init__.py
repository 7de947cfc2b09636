"""The MovieLens-100k experiment (dataset ``ml-100k``): ``experiment`` is the adapter; ``movielens`` reads the
data and splits it, ``features`` builds the candidates and the reranker's features."""
