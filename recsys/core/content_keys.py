"""Names for frames whose reader knows exactly what they hold, so work derived from them can be cached.

A reader that can name a frame's content (the serving market's plans: the market snapshot folder they came from
and a digest of the rows read on top of it) records a key for *that frame object*; :func:`content_key` answers it
only for the same object, alive. A frame derived from it (filtered, copied, concatenated) has no key, so a cache can
never mistake a changed frame for the one it saw: the registry holds weak references and compares identity, not
``id()`` alone (a new frame may reuse a freed one's address) and not ``DataFrame.attrs`` (pandas copies those
through filtering). A named frame must not be changed in place afterwards: its key would then name other content.
"""

from __future__ import annotations

import threading
import weakref

import pandas as pd

_frames: weakref.WeakValueDictionary[int, pd.DataFrame] = weakref.WeakValueDictionary()
_keys: dict[int, str] = {}
_lock = threading.Lock()


def name_content(frame: pd.DataFrame, key: str) -> None:
    """Record that ``frame`` (this object) holds exactly the content ``key`` names."""
    with _lock:
        for stale in [i for i in _keys if i not in _frames]:
            del _keys[stale]
        _frames[id(frame)] = frame
        _keys[id(frame)] = key


def content_key(frame: pd.DataFrame) -> str | None:
    """The key recorded for this very frame object, or None (never recorded, or recorded for another object)."""
    with _lock:
        return _keys.get(id(frame)) if _frames.get(id(frame)) is frame else None
