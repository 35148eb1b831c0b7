import pytest

from orchestration.lib.retry import RetriesExhausted, RetryPolicy, call_with_retries


def test_retries_until_success_with_growing_waits():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "ok"

    policy = RetryPolicy(attempts=5, base_delay_s=1.0, max_delay_s=30.0)
    assert call_with_retries(flaky, policy, "x", sleep=waits.append) == "ok"
    assert len(calls) == 3
    # full jitter within [0.5, 1] x 1 s, then [0.5, 1] x 2 s
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_gives_up_after_the_attempts_and_names_what():
    waits = []

    def broken():
        raise TimeoutError("slow")

    with pytest.raises(RetriesExhausted, match="FRED WALCL: gave up after 3 attempt"):
        call_with_retries(broken, RetryPolicy(attempts=3), "FRED WALCL", sleep=waits.append)
    assert len(waits) == 2


def test_non_retryable_errors_are_not_retried():
    calls = []

    def bad_request():
        calls.append(1)
        raise ValueError("Bad Request. The series does not exist.")

    with pytest.raises(RetriesExhausted):
        call_with_retries(bad_request, RetryPolicy(attempts=5), "x",
                          retryable=lambda e: "Bad Request" not in str(e), sleep=lambda s: None)
    assert len(calls) == 1


def test_waits_are_capped_and_the_deadline_stops_retries():
    policy = RetryPolicy(base_delay_s=10, max_delay_s=15)
    assert all(policy.delay(n, rng=lambda: 1.0) <= 15 for n in range(1, 10))
    calls = []

    def broken():
        calls.append(1)
        raise OSError("down")

    with pytest.raises(RetriesExhausted):
        call_with_retries(broken, RetryPolicy(attempts=50, deadline_s=0.0), "x",
                          sleep=lambda s: None)
    assert len(calls) == 1
