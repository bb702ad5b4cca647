from floor.errors import DEFAULT_HINT, FAULT_CODES, HINTS, hint_for
from mes.errors import REGISTRY


def test_each_fault_category_has_its_incident_code_and_severity():
    assert {category: (e.code, e.severity) for category, e in FAULT_CODES.items()} == {
        "equipment": ("FLR-001", "B"),
        "material": ("FLR-002", "C"),
        "quality": ("FLR-003", "B"),
        "other": ("FLR-004", "C"),
    }


def test_floor_codes_are_registered_and_hints_name_known_codes():
    floor_codes = [code for code in REGISTRY if code.startswith("FLR-")]
    assert len(floor_codes) >= 15
    assert set(HINTS) <= set(REGISTRY)
    assert hint_for("NOPE-1") == str(DEFAULT_HINT)
