"""Codes that lost their leading zeros on the way through Excel."""

from __future__ import annotations

from collections.abc import Iterable


def material_code_candidates(
    codes: Iterable[str], known: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The known codes each given code may stand for.

    An exact match is the only candidate. Otherwise an all-digit code matches
    the all-digit known codes that are equal once leading zeros are dropped
    from both (Excel drops them: the ERP's 0200117 arrives as 200117).
    """
    known_set = set(known)
    by_digits: dict[str, list[str]] = {}
    for code in known_set:
        if code.isascii() and code.isdigit():
            by_digits.setdefault(code.lstrip("0"), []).append(code)
    result: dict[str, tuple[str, ...]] = {}
    for code in codes:
        if code in known_set:
            result[code] = (code,)
        elif code.isascii() and code.isdigit():
            result[code] = tuple(sorted(by_digits.get(code.lstrip("0"), ())))
        else:
            result[code] = ()
    return result


def resolve_material_codes(codes: Iterable[str], known: Iterable[str]) -> dict[str, str | None]:
    """Each given code mapped to the one known code it stands for, else ``None``.

    ``None`` means unknown or ambiguous; :func:`material_code_candidates` tells
    which (no candidate: unknown, INV-001; several: INT-105).
    """
    return {
        code: candidates[0] if len(candidates) == 1 else None
        for code, candidates in material_code_candidates(codes, known).items()
    }
