"""Opaque cursors: urlsafe base64 of ``{"o": offset, "r": run_id}``.

A cursor is only valid for the bundle that ranked the list: after a reload the list may differ, so an old cursor
answers 400 ``cursor_stale`` (start again without a cursor) instead of silently skipping or repeating items.
"""

from __future__ import annotations

import base64
import binascii
import json

from serving.errors import ApiError


def encode_cursor(offset: int, run_id: str) -> str:
    raw = json.dumps({"o": offset, "r": run_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(message: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        f"query.cursor: {message}",
        [{"loc": ["query", "cursor"], "msg": message, "type": "cursor_invalid"}],
    )


def decode_cursor(cursor: str | None, run_id: str, max_offset: int) -> int:
    """The offset a cursor stands for (0 without one)."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset, cursor_run = data["o"], data["r"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise _invalid("not a cursor returned by this API (pass next_cursor as it was given)") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not isinstance(cursor_run, str):
        raise _invalid("not a cursor returned by this API (pass next_cursor as it was given)")
    if cursor_run != run_id:
        raise ApiError(
            400,
            "cursor_stale",
            "the list was refreshed (a new model was loaded since this cursor was issued); "
            "request the first page again without a cursor",
        )
    if not 0 <= offset <= max_offset:
        raise _invalid(f"the cursor's position {offset} is outside the list (0..{max_offset})")
    return offset


def next_cursor(offset: int, k: int, returned: int, run_id: str, max_depth: int) -> str | None:
    """The cursor of the next page, or None when this page ended the list."""
    if returned < k or offset + k >= max_depth:
        return None
    return encode_cursor(offset + k, run_id)
