"""Dropping the resident pages of shared-library code (serving.state.release_library_code): the pages go, the
process keeps working and computes the same answers, and only unwritten code mappings are touched."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import faiss, numpy as np, pyarrow as pa
    from serving.state import _library_code, release_library_code

    def work():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2000, 32)).astype(np.float32)
        index = faiss.IndexFlatIP(32)
        index.add(x)
        _, rows = index.search(x[:5], 10)
        total = pa.compute.sum(pa.array(np.arange(1000))).as_py()
        return rows.tolist(), total, float(np.linalg.svd(x[:200], compute_uv=False)[0])

    before = work()
    mapped = _library_code()
    dropped = release_library_code()
    after_drop = sum(rss for _, _, rss in _library_code())
    again = work()
    print(json.dumps({"mapped": sum(r for _, _, r in mapped), "dropped": dropped, "after_drop": after_drop,
                      "same": before == again}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_library_code_pages_are_dropped_and_the_process_still_computes_the_same() -> None:
    import json

    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["same"]
    assert result["dropped"] > 1024 * 1024  # numpy, faiss and Arrow's code was resident
    assert result["dropped"] >= 0.9 * result["mapped"]  # all of it (the listing itself runs a little code)
    assert result["after_drop"] < result["dropped"]  # right after the drop they are gone (the listing runs a little)


def test_only_executable_library_mappings_without_private_pages_are_listed() -> None:
    from serving.state import _library_code

    listed = {start for start, _, _ in _library_code()}
    assert listed
    with open("/proc/self/smaps") as smaps:
        text = smaps.read()
    mapping: list[str] = []
    checked = 0
    for line in text.splitlines():
        head = line.split()
        if not head[0].endswith(":"):  # a mapping's first line
            mapping = head
        elif head[0] == "Anonymous:" and int(mapping[0].split("-")[0], 16) in listed:
            assert mapping[1] == "r-xp" and ".so" in mapping[5] and int(head[1]) == 0, mapping
            checked += 1
    assert checked == len(listed)
