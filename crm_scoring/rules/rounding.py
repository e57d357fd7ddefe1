"""JavaScript number semantics the specification relies on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MS_PER_DAY = 1000 * 60 * 60 * 24


def js_round(values: npt.ArrayLike) -> np.ndarray:
    """``Math.round``: the nearest integer, halves towards +infinity (52.5 -> 53, -2.5 -> -2).

    ``floor(x + 0.5)`` is wrong for 0.49999999999999994 (it gives 1); comparing the exact
    fractional part ``x - floor(x)`` is not.
    """
    x = np.asarray(values, dtype=np.float64)
    whole = np.floor(x)
    return np.where(x - whole >= 0.5, whole + 1.0, whole)


def whole_days_since(then_ms: npt.ArrayLike, now_ms: float) -> np.ndarray:
    """``Math.floor((now - then) / 86_400_000)`` on millisecond epochs; NaN where ``then`` is null."""
    then = np.asarray(then_ms, dtype=np.float64)
    return np.floor((now_ms - then) / MS_PER_DAY)
