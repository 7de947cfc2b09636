"""Marketplace integrity: creators whose engagement looks bought (:mod:`models.integrity.fake_engagement`) and how
well that is detected against a known truth (:mod:`models.integrity.evaluation`)."""
