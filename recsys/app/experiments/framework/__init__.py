"""The experiment framework: adapter contract, registry, runner, run folders, reports, plots, comparisons and the
evaluation path shared by every dataset. Nothing here knows a particular dataset."""
