"""Dataset directories: one file per table (``<table>.parquet`` or ``<table>.csv``), validation and import."""
