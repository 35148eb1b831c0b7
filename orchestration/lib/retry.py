"""Client-side retries: exponential backoff with jitter, bounded in attempts and in time.

`Backoff` is the client's own budget for one request (seconds to minutes). A rate-limit
episode that outlasts it is handed to Dagster's step retry (`RATE_LIMIT_STEP_RETRY` on the
ingestion assets), which waits minutes between whole attempts of the step.

An error may carry `retry_after` (seconds, from an HTTP Retry-After header): the next try
then waits at least that long, and the wait is not cut by the backoff's cap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    attempts: int = 5          # tries in all, the first included
    base_delay_s: float = 1.0  # wait before the 2nd try; doubles each time
    max_delay_s: float = 30.0  # no single wait is longer
    deadline_s: float = 180.0  # no new try starts after this long

    def delay(self, retry_number: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0.5, 1.0] x the exponential step, capped."""
        step = min(self.max_delay_s, self.base_delay_s * 2 ** (retry_number - 1))
        return step * (0.5 + rng() / 2)


class RetriesExhausted(RuntimeError):
    def __init__(self, what: str, attempts: int, last: BaseException):
        super().__init__(f"{what}: gave up after {attempts} attempt(s): "
                         f"{type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


def call_with_retries(
    fn: Callable[[], T],
    policy: Backoff,
    what: str,
    retryable: Callable[[BaseException], bool] = lambda exc: True,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call fn until it returns; retry retryable errors within the policy's bounds."""
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified by `retryable`
            out_of_time = time.monotonic() - started >= policy.deadline_s
            if not retryable(exc) or attempt == policy.attempts or out_of_time:
                raise RetriesExhausted(what, attempt, exc) from exc
            wait = policy.delay(attempt)
            asked = getattr(exc, "retry_after", None)
            if asked is not None:  # the server said when to come back: never sooner
                if time.monotonic() - started + asked > policy.deadline_s:
                    raise RetriesExhausted(what, attempt, exc) from exc
                wait = max(wait, float(asked))
            if log:
                log(f"{what}: attempt {attempt} failed ({type(exc).__name__}: {exc}); "
                    f"retrying in {wait:.1f} s")
            sleep(wait)
    raise AssertionError("unreachable")
