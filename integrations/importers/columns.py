"""Finding the header row and which column holds which field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from integrations.importers.values import clean_text

DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "material": (
        "material",
        "material_code",
        "item",
        "item_code",
        "sku",
        "物料编码",
        "物料代码",
        "存货编码",
        "料号",
    ),
    "batch": ("batch", "lot", "batch_no", "批号", "批次", "批次号"),
    "location": ("warehouse", "location", "仓库", "仓库编码", "库位"),
    "quantity": ("qty", "quantity", "on_hand", "数量", "库存数量", "结存数量"),
    "unit": ("uom", "unit", "单位"),
    "external_id": ("external_id", "external_ref", "record_id", "line_id", "外部编号", "记录编号"),
    "occurred_at": (
        "occurred_at",
        "timestamp",
        "datetime",
        "date",
        "updated_at",
        "日期",
        "更新时间",
        "盘点时间",
    ),
}
FIELDS = tuple(DEFAULT_HEADERS)
REQUIRED_FIELDS = ("material", "quantity")

# A title line or two above the header is common in ERP exports.
HEADER_SEARCH_ROWS = 10
_HEADER_NOISE = re.compile(r"[\s_\-.]+")


def _header_key(value: str) -> str:
    return _HEADER_NOISE.sub("", clean_text(value).casefold())


def _match_columns(
    header: Sequence[str], mapping: Mapping[str, Iterable[str] | str] | None
) -> tuple[dict[str, int], list[str]]:
    """Column index per field, and the fields that more than one column could hold.

    A node's own names for a field are looked for first; only when none is in
    the header do the default names apply. A column is used for one field only.
    """
    keys = [_header_key(cell) for cell in header]
    found: dict[str, int] = {}
    ambiguous: list[str] = []
    claimed: set[int] = set()

    def look_for(field_name: str, names: Iterable[str]) -> bool:
        wanted = {_header_key(name) for name in names}
        hits = [i for i, key in enumerate(keys) if key and key in wanted and i not in claimed]
        if len(hits) > 1:
            ambiguous.append(field_name)
        elif hits:
            found[field_name] = hits[0]
        claimed.update(hits)
        return bool(hits)

    searched = set()
    for field_name, names in (mapping or {}).items():
        if field_name not in DEFAULT_HEADERS:
            raise ValueError(f"unknown import field {field_name!r}; expected one of {FIELDS}")
        if look_for(field_name, [names] if isinstance(names, str) else names):
            searched.add(field_name)
    for field_name, names in DEFAULT_HEADERS.items():
        if field_name not in searched:
            look_for(field_name, names)
    return found, ambiguous


def find_header(
    rows: list[list[str]], mapping: Mapping[str, Iterable[str] | str] | None
) -> tuple[int, dict[str, int], list[str]] | None:
    """``(row index, column index per field, ambiguous fields)`` of the header: the first
    of the leading rows that names the required columns, else the first non-blank
    row (the caller reports what it lacks). ``None`` when every row is blank.

    ``mapping`` is a node's own names per field, tried before :data:`DEFAULT_HEADERS`.
    """
    candidates = [i for i, row in enumerate(rows) if any(clean_text(cell) for cell in row)]
    if not candidates:
        return None
    for index in candidates[:HEADER_SEARCH_ROWS]:
        found, ambiguous = _match_columns(rows[index], mapping)
        if all(name in found or name in ambiguous for name in REQUIRED_FIELDS):
            return index, found, ambiguous
    found, ambiguous = _match_columns(rows[candidates[0]], mapping)
    return candidates[0], found, ambiguous
