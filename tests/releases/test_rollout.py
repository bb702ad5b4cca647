"""The sticky percentage: pure functions, no database."""

from releases.rollout import BUCKETS, bucket, in_rollout


def test_ten_percent_of_a_thousand_users_is_between_eight_and_twelve_percent():
    share = sum(in_rollout("new-scan", user_id, 10) for user_id in range(1, 1001))
    assert 80 <= share <= 120


def test_the_same_user_gets_the_same_answer_every_time():
    first = [in_rollout("new-scan", user_id, 37.5) for user_id in range(500)]
    again = [in_rollout("new-scan", user_id, 37.5) for user_id in range(500)]
    assert first == again


def test_raising_the_share_keeps_everyone_already_in():
    users = range(1, 2001)
    at_10 = {u for u in users if in_rollout("new-scan", u, 10)}
    at_50 = {u for u in users if in_rollout("new-scan", u, 50)}
    at_100 = {u for u in users if in_rollout("new-scan", u, 100)}
    assert at_10 <= at_50 <= at_100
    assert len(at_100) == 2000


def test_flags_draw_different_cohorts_and_zero_is_nobody():
    a = {u for u in range(1000) if in_rollout("flag-a", u, 10)}
    b = {u for u in range(1000) if in_rollout("flag-b", u, 10)}
    assert a != b
    assert not any(in_rollout("flag-a", u, 0) for u in range(1000))
    assert all(0 <= bucket("flag-a", u) < BUCKETS for u in range(1000))
