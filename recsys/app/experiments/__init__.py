"""Offline experiments: a small framework and one package per dataset.

- ``framework/``: the adapter contract (``base``), dataset name -> adapter module (``registry``), running and
  writing ``runs/<run_id>/`` (``runner``, ``rundir``), reports, plots and paired comparisons (``report``,
  ``plots``, ``compare``), and the one evaluation path from ranked lists to per-query frames and summaries
  (``evaluation``, on top of :mod:`recsys.core.metrics`).
- ``user_item/``: pieces shared by the user–item datasets — full-catalogue ranking (``fullrank``), collaborative
  baselines (``baselines``), FAISS candidates (``retrieval``) and the LambdaRank reranker (``rerank``).
- one package per dataset, each with an ``experiment`` module (the adapter): ``synthetic``, ``amazon_beauty``,
  ``ml100k``, ``brand_influencer``; and ``toy`` — the ``demo`` dataset, a toy problem that exercises the framework.
"""
