"""The rules generator's events, drawn a week at a time: the same process as drawing each
customer's whole span at once (a Poisson count, times from a flat-then-decaying density).

Expected figures come from the density itself: flat over the steady part, falling linearly to
0 over the decay, so the decay holds (decay / 2) / (steady + decay / 2) of the events and the
first half of the decay 1 - (1/2)^2 = 3/4 of those."""

import numpy as np
import pandas as pd
import pytest

from crm_scoring.devtools import synthetic

DAY = 86_400.0
END = 1_800_000_000.0


def _one_customer(*, churner: bool, expected: float, seed: int = 11) -> tuple[dict, np.ndarray]:
    """A customer active from 400 days before END; a churner stops 40 days before it."""
    start, stop = END - 400 * DAY, END - (40 * DAY if churner else 0)
    customers = {
        "start_s": np.array([start]),
        "stop_s": np.array([stop]),
        "churner": np.array([churner]),
        "end_s": END,
        "id": np.array(["cus_1"]),
        "tenant_id": np.array(["t"]),
    }
    frames = list(
        synthetic._events(
            np.random.default_rng(seed),
            customers,
            np.array([expected]),
            prefix="e_",
            build=lambda owner, at, n: pd.DataFrame({"owner": owner, "at": at}),
        )
    )
    return customers, pd.concat(frames, ignore_index=True)


def test_a_churners_events_thin_out_over_the_decay_as_the_density_says() -> None:
    expected = 200_000.0
    customers, events = _one_customer(churner=True, expected=expected)
    count = len(events)
    # A Poisson count: within 4 standard deviations of its mean.
    assert abs(count - expected) < 4 * np.sqrt(expected)
    start, stop = customers["start_s"][0], customers["stop_s"][0]
    decay_start = stop - synthetic.DECAY_DAYS * DAY  # steady 240 days, decay 120 days
    at = events["at"].to_numpy()
    assert ((at >= start) & (at <= stop)).all()
    in_decay = at > decay_start
    # (120 / 2) / (240 + 120 / 2) = 0.2 of the events, each share within 4 binomial deviations.
    share, tolerance = in_decay.mean(), 4 * np.sqrt(0.2 * 0.8 / count)
    assert share == pytest.approx(0.2, abs=tolerance)
    first_half = (at[in_decay] < decay_start + synthetic.DECAY_DAYS * DAY / 2).mean()
    assert first_half == pytest.approx(0.75, abs=4 * np.sqrt(0.75 * 0.25 / in_decay.sum()))


def test_a_steady_customers_events_are_even_and_come_in_time_order_with_ids_in_order() -> None:
    _, events = _one_customer(churner=False, expected=50_000.0)
    at = events["at"].to_numpy()
    assert (np.diff(at) >= 0).all()  # as a CRM appends them, across the weekly draws
    assert events["id"].tolist() == [f"e_{i}" for i in range(1, len(events) + 1)]
    # Flat density: each of the 400 days holds 1/400 of the events; the first and the last
    # hundred days hold a quarter each.
    first, last = (at < END - 300 * DAY).mean(), (at >= END - 100 * DAY).mean()
    tolerance = 4 * np.sqrt(0.25 * 0.75 / len(at))
    assert first == pytest.approx(0.25, abs=tolerance)
    assert last == pytest.approx(0.25, abs=tolerance)


def test_no_span_no_events() -> None:
    customers = {
        "start_s": np.array([END - DAY, END - 5 * DAY]),
        "stop_s": np.array([END - DAY, END - 5 * DAY]),  # stopped the day they started
        "churner": np.array([True, False]),
        "end_s": END,
    }
    frames = synthetic._events(
        np.random.default_rng(1), customers, np.array([10.0, 10.0]), prefix="e_", build=None
    )
    assert list(frames) == []
