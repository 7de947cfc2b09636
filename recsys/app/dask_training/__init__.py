"""Training on Dask: the store exported as partitioned Parquet, read back lazily, and a cluster to train on.

``export`` streams the store's tables into a partitioned directory (``recsys export --partitioned``); ``source``
reads one back (entity tables validated in memory, promotions as a lazy ``dask.dataframe``); ``cluster`` starts
or joins the Dask cluster ``recsys train --engine dask`` runs on. The training itself is
:mod:`models.training.dask_train`.
"""
