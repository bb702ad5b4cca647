"""Every role against every page and endpoint, compared with the permission matrix."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.security.matrix import ROLES, endpoints, probe, row_of
from tests.security.permission_matrix import MATRIX, ROLE_COLUMNS
from workorders.models import TemporaryGrant


def test_every_url_has_a_row_in_the_matrix():
    names = {endpoint.name for endpoint in endpoints()}
    missing = sorted(names - MATRIX.keys())
    stale = sorted(MATRIX.keys() - names)
    assert not missing, f"URLs without a row in tests/security/permission_matrix.py: {missing}"
    assert not stale, f"rows for URLs that no longer exist: {stale}"


def test_matrix_rows_are_well_formed():
    for name, (method, roles) in MATRIX.items():
        assert method in ("GET", "POST"), name
        assert len(roles) == len(ROLE_COLUMNS), name
        assert all(mark in (letter, "-") for mark, letter in zip(roles, ROLE_COLUMNS, strict=True))


@pytest.mark.django_db
@pytest.mark.timeout(300)
def test_each_role_reaches_exactly_what_the_matrix_allows():
    call_command("demo_data", stdout=io.StringIO())
    # The matrix is of roles: the demo's temporary grants (a worker's night-shift
    # dispatch and inspection, from 20:00 factory time) would pass for the role's rights
    # whenever the suite runs at night.
    TemporaryGrant.objects.update(revoked_at=timezone.now())
    mismatches = []
    for endpoint in endpoints():
        method, expected_row = MATRIX[endpoint.name]
        for role, letter, expected_mark in zip(ROLES, ROLE_COLUMNS, expected_row, strict=True):
            url, outcome, status = probe(endpoint.name, method, role)
            expected = "allow" if expected_mark == letter else "deny"
            if outcome != expected:
                mismatches.append(
                    f"{role:<12} {method} {url}: expected {expected}, got {outcome} ({status})"
                )
    assert not mismatches, "permission matrix mismatches:\n" + "\n".join(mismatches)


def test_row_of_marks_allowed_roles_with_their_letter():
    outcomes = dict.fromkeys(ROLES, "deny") | {"planner": "allow", "anonymous": "allow"}
    assert row_of(outcomes) == "P----A"
