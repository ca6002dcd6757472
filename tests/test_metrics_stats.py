"""The digest's statistics (docs/metrics.md) on hand-computed values: median, p85
(percentile_cont), and when a headline 'got worse'."""

from __future__ import annotations

import pytest

from chatbot.metrics.stats import got_worse, mean, median, p85, rate


def test_median_of_odd_and_even_samples_and_none_for_no_sample() -> None:
    assert median([5.0, 1.0, 3.0]) == 3.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5  # mean of the two middle values
    assert median([]) is None


def test_p85_interpolates_at_position_1_plus_085_times_n_minus_1() -> None:
    # n = 10: position 1 + 0.85 × 9 = 8.65 → between the 8th (80) and 9th (90) values.
    assert p85([10.0 * k for k in range(1, 11)]) == pytest.approx(86.5)
    assert p85([7.0]) == 7.0
    assert p85([]) is None


def test_rates_and_means_keep_a_real_zero() -> None:
    assert rate(0, 8) == 0.0
    assert rate(0, 0) is None
    assert mean([]) is None


@pytest.mark.parametrize(
    ("current", "previous", "lower_is_better", "worse"),
    [
        (11.0, 10.0, True, False),  # exactly +10 %: not more than 10 %
        (11.5, 10.0, True, True),
        (9.0, 10.0, True, False),  # better
        (1.0, 0.0, True, True),  # rose from 0
        (0.0, 0.0, True, False),
        (0.85, 1.0, False, True),  # a share that should rise fell by 15 %
        (0.95, 1.0, False, False),
        (0.5, 0.0, False, False),
        (None, 10.0, True, False),
        (10.0, None, True, False),
    ],
)
def test_got_worse_is_more_than_10_percent_in_the_bad_direction(
    current: float | None, previous: float | None, lower_is_better: bool, worse: bool
) -> None:
    assert got_worse(current, previous, lower_is_better) is worse
