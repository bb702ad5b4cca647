"""Inbound stock files: read what ERPs, WMSs and people send, flag what is unclear.

Pure parsing, no database access. :func:`parse_stock_rows` reads CSV/TSV text
(UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK; comma, semicolon or
tab) or XLSX and returns every row it could read without guessing, plus one
:class:`RowError` for every value that is not clear. A caller applies a file
only when ``ParsedFile.ok``: imports are all or nothing.

The steps are public for readers that stream a file too large to read whole
(the reconciliation's snapshots): :func:`decode_text`, :func:`sniff_delimiter`,
:func:`find_header`, :func:`decimal_separator_of`, :func:`row_cell` and
:func:`parse_stock_row` read it exactly as :func:`parse_stock_rows` does.

Modules: ``tables`` (bytes into cells), ``values`` (one cell's value),
``columns`` (the header), ``stock_files`` (rows and their errors),
``material_codes`` (codes that lost their leading zeros).
"""

from integrations.importers.columns import (
    DEFAULT_HEADERS,
    FIELDS,
    HEADER_SEARCH_ROWS,
    REQUIRED_FIELDS,
    find_header,
)
from integrations.importers.material_codes import material_code_candidates, resolve_material_codes
from integrations.importers.stock_files import (
    FILE_ROW,
    MAX_LENGTH,
    TEXT_FIELDS,
    ParsedFile,
    RowError,
    StockRow,
    parse_stock_row,
    parse_stock_rows,
    row_cell,
    text_errors,
)
from integrations.importers.tables import (
    DELIMITERS,
    OLE_MAGIC,
    SNIFF_CHARS,
    XLSX_MAGIC,
    Table,
    decode_text,
    read_table,
    sniff_delimiter,
)
from integrations.importers.values import (
    MAX_DECIMAL_PLACES,
    MAX_INTEGER_DIGITS,
    clean_text,
    decimal_separator_of,
    is_mangled_code,
    parse_quantity,
    parse_time,
)

__all__ = [
    "DEFAULT_HEADERS",
    "DELIMITERS",
    "FIELDS",
    "FILE_ROW",
    "HEADER_SEARCH_ROWS",
    "MAX_DECIMAL_PLACES",
    "MAX_INTEGER_DIGITS",
    "MAX_LENGTH",
    "OLE_MAGIC",
    "REQUIRED_FIELDS",
    "SNIFF_CHARS",
    "TEXT_FIELDS",
    "XLSX_MAGIC",
    "ParsedFile",
    "RowError",
    "StockRow",
    "Table",
    "clean_text",
    "decimal_separator_of",
    "decode_text",
    "find_header",
    "is_mangled_code",
    "material_code_candidates",
    "parse_quantity",
    "parse_stock_row",
    "parse_stock_rows",
    "parse_time",
    "read_table",
    "resolve_material_codes",
    "row_cell",
    "sniff_delimiter",
    "text_errors",
]
