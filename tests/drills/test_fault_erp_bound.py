"""The fault drill judges the ERP's recovery against a bound from the node's retry policy."""

from drills.fault.options import CATCH_UP_SECONDS, erp_recovery_bound
from drills.fault.verdict import erp_check


def test_the_bound_is_the_longest_retry_delay_left_plus_the_catch_up():
    # 12 s away, first retry 30 s: the last delay scheduled is at most 42 s, +10 % jitter.
    assert erp_recovery_bound(12, 30, 30) == round(42 * 1.1 + CATCH_UP_SECONDS, 1)
    # A long outage under a short policy: never more than the policy's last delay ...
    assert erp_recovery_bound(600, 30, 3) == round(120 * 1.1 + CATCH_UP_SECONDS, 1)
    # ... nor the engine's cap on a countdown.
    assert erp_recovery_bound(10_000, 30, 30) == round(3000 * 1.1 + CATCH_UP_SECONDS, 1)


def _erp(recovered_in_s: float) -> dict:
    return {
        "failed_attempts_meanwhile": 6,
        "node_last_error": "INT-002",
        "recovered_in_s": recovered_in_s,
        "bound_s": 74.0,
        "retry_policy": "first retry after 30 s, doubling, 30 retries",
    }


def test_a_backlog_delivered_past_the_bound_fails_the_check():
    assert erp_check(_erp(2.2))["pass"]
    assert not erp_check(_erp(74.1))["pass"]
    assert "bound 74.0 s" in erp_check(_erp(2.2))["got"]
