"""Python's ``round(value, digits)`` over a whole column at numpy speed, with the same results.

A page shows ~850 rounded figures; ``round`` on each Python float is most of what building a page's items costs
after the models. numpy's ``np.round`` (scale, ``rint``, unscale) is fast but not Python's rounding: Python rounds
the float's exact binary value, while the scaled product ``value * 10**digits`` is itself rounded and can land on
the other side of a half (``np.round(1.0049999999999999, 2)`` may differ from ``round``). Here the fast path is kept
only where it provably agrees: the scaled value is farther from a half than its own rounding error, so its nearest
integer is the exact value's, and dividing that integer by ``10**digits`` (both exact doubles) is correctly rounded —
what ``round`` returns. Everything else (near a half, huge, NaN, infinite) goes through ``round`` itself.
"""

from __future__ import annotations

import numpy as np

_EXACT = 2.0**52  # from here on every double is an integer: the fast path's integer would not be exact
_RELATIVE_ERROR = 1e-15  # > 4x the scaled product's rounding error (2**-53 relative)
_SHORT = 32  # up to here ``round`` on each value is faster than the array operations (measured: 20 values 9 us vs 12)


def rounded(values: np.ndarray | list[float], digits: int) -> list[float]:
    """``[round(float(v), digits) for v in values]``, equal value for value (``digits`` from 0 to 15)."""
    if not 0 <= digits <= 15:
        raise ValueError(f"digits must be 0-15, got {digits}")
    x = np.asarray(values, dtype=np.float64).ravel()
    if len(x) <= _SHORT:
        return [round(v, digits) for v in x.tolist()]
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * scale
        out = np.rint(y) / scale
        from_half = np.abs(y - np.floor(y) - 0.5)
        sure = (from_half > np.abs(y) * _RELATIVE_ERROR) & (np.abs(y) < _EXACT)  # False for NaN and inf
    result: list[float] = out.tolist()
    for i in np.flatnonzero(~sure).tolist():
        result[i] = round(float(x[i]), digits)
    return result
