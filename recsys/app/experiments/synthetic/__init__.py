"""The synthetic-marketplace experiment (dataset ``synthetic``): ``experiment`` is the adapter, ``evaluation``
holds its scoring and the two evaluation protocols (logged test window, full eligible catalogue)."""
