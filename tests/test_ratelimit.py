"""The per-user rate limit, on an injected clock: 20 a minute, one polite refusal, bounded memory."""

from __future__ import annotations

import pytest

from adapters.ratelimit import RateLimiter, Verdict
from bot.knowledge import load_knowledge


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_twenty_messages_a_minute_then_one_polite_refusal_then_silence(clock: Clock) -> None:
    limiter = RateLimiter(clock=clock)
    verdicts = [limiter.check("U1") for _ in range(25)]
    assert verdicts == [Verdict.ALLOW] * 20 + [Verdict.REFUSE] + [Verdict.DROP] * 4


def test_tokens_come_back_steadily(clock: Clock) -> None:
    limiter = RateLimiter(limit=20, period=60, clock=clock)
    for _ in range(21):
        limiter.check("U1")
    clock.now += 2.9  # not yet a whole message's worth (3 s)
    assert limiter.check("U1") is Verdict.DROP
    clock.now += 0.2
    assert limiter.check("U1") is Verdict.ALLOW
    assert limiter.check("U1") is Verdict.REFUSE  # told again after a message got through
    clock.now += 60
    assert [limiter.check("U1") for _ in range(20)] == [Verdict.ALLOW] * 20


def test_one_user_does_not_use_up_another_users_share(clock: Clock) -> None:
    limiter = RateLimiter(limit=3, period=60, clock=clock)
    assert [limiter.check("flooder") for _ in range(5)][-1] is Verdict.DROP
    assert [limiter.check("colleague") for _ in range(3)] == [Verdict.ALLOW] * 3


def test_memory_is_bounded_and_the_least_recent_user_goes_first(clock: Clock) -> None:
    limiter = RateLimiter(limit=1, period=60, max_users=100, clock=clock)
    limiter.check("regular")
    for n in range(99):
        limiter.check(f"user{n}")
    assert limiter.check("regular") is Verdict.REFUSE  # still remembered: 100 users
    for n in range(1000):
        limiter.check(f"other{n}")
    assert len(limiter) == 100
    assert limiter.check("regular") is Verdict.ALLOW  # forgotten, so a fresh bucket


def test_huge_user_ids_are_cut(clock: Clock) -> None:
    limiter = RateLimiter(limit=1, clock=clock)
    limiter.check("U" * 200_000)
    assert limiter.check("U" * 200_001) is Verdict.REFUSE  # the same first 256 characters
    assert all(len(key) <= RateLimiter.MAX_KEY_CHARS for key in limiter._buckets)


def test_a_clock_going_backwards_gives_no_tokens(clock: Clock) -> None:
    limiter = RateLimiter(limit=1, clock=clock)
    limiter.check("U1")
    clock.now -= 3600
    assert limiter.check("U1") is Verdict.REFUSE


@pytest.mark.parametrize("args", [{"limit": 0}, {"period": 0}, {"max_users": 0}])
def test_nonsense_settings_are_refused(args: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**args)  # type: ignore[arg-type]


def test_the_polite_reply_is_in_the_bots_own_words() -> None:
    assert "wait a minute" in load_knowledge().messages.rate_limited
