import pytest

from orchestration.lib.retry import Backoff, RetriesExhausted, call_with_retries


def test_retries_until_success_with_growing_waits():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "ok"

    policy = Backoff(attempts=5, base_delay_s=1.0, max_delay_s=30.0)
    assert call_with_retries(flaky, policy, "x", sleep=waits.append) == "ok"
    assert len(calls) == 3
    # full jitter within [0.5, 1] x 1 s, then [0.5, 1] x 2 s
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_gives_up_after_the_attempts_and_names_what():
    waits = []

    def broken():
        raise TimeoutError("slow")

    with pytest.raises(RetriesExhausted, match="FRED WALCL: gave up after 3 attempt"):
        call_with_retries(broken, Backoff(attempts=3), "FRED WALCL", sleep=waits.append)
    assert len(waits) == 2


def test_non_retryable_errors_are_not_retried():
    calls = []

    def bad_request():
        calls.append(1)
        raise ValueError("Bad Request. The series does not exist.")

    with pytest.raises(RetriesExhausted):
        call_with_retries(bad_request, Backoff(attempts=5), "x",
                          retryable=lambda e: "Bad Request" not in str(e), sleep=lambda s: None)
    assert len(calls) == 1


def test_waits_are_capped_and_the_deadline_stops_retries():
    policy = Backoff(base_delay_s=10, max_delay_s=15)
    assert all(policy.delay(n, rng=lambda: 1.0) <= 15 for n in range(1, 10))
    calls = []

    def broken():
        calls.append(1)
        raise OSError("down")

    with pytest.raises(RetriesExhausted):
        call_with_retries(broken, Backoff(attempts=50, deadline_s=0.0), "x",
                          sleep=lambda s: None)
    assert len(calls) == 1


class _Limited(RuntimeError):
    def __init__(self, retry_after):
        super().__init__("HTTP 429")
        self.retry_after = retry_after


def test_retry_after_is_honoured_above_the_backoff_and_its_cap():
    calls, waits = [], []

    def limited_twice():
        calls.append(1)
        if len(calls) <= 2:
            raise _Limited(retry_after=[45.0, 0.2][len(calls) - 1])
        return "ok"

    policy = Backoff(attempts=5, base_delay_s=1.0, max_delay_s=30.0, deadline_s=600)
    assert call_with_retries(limited_twice, policy, "x", sleep=waits.append) == "ok"
    # the server's 45 s wins over the backoff's [0.5, 1] s and over its 30 s cap;
    # a Retry-After shorter than the backoff does not shorten it ([1, 2] s)
    assert waits[0] == 45.0 and 1.0 <= waits[1] <= 2.0


def test_a_retry_after_beyond_the_deadline_gives_up_at_once():
    waits = []

    def limited():
        raise _Limited(retry_after=3600.0)

    with pytest.raises(RetriesExhausted) as info:
        call_with_retries(limited, Backoff(attempts=5, deadline_s=300), "FRED WALCL",
                          sleep=waits.append)
    assert info.value.attempts == 1 and waits == []
