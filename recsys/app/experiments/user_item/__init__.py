"""Pieces shared by the user–item datasets (ml-100k, amazon-beauty): full-catalogue ranking with masking
(``fullrank``), collaborative baselines (``baselines``), FAISS candidate retrieval (``retrieval``) and the
LambdaRank reranker over candidate groups (``rerank``)."""
