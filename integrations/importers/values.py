"""Reading one cell's value: text, codes, quantities and times, without guessing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from inventory.models import QUANTITY

MAX_DECIMAL_PLACES = QUANTITY["decimal_places"]
MAX_INTEGER_DIGITS = QUANTITY["max_digits"] - QUANTITY["decimal_places"]

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Excel's display of a long number: 1.2E+07, 1.20E+07 (and 1,2E+07 in a decimal-comma locale).
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?e[+-]\d+$", re.IGNORECASE)
_EXCEL_FLOAT = re.compile(r"^\d+\.0+$")
_SPACE_GROUPED = re.compile(r"^\d{1,3}(?: \d{3})+(?:[.,]\d+)?$")
_YEAR_FIRST = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$"
)


def clean_text(value: str) -> str:
    """Full-width forms folded (NFKC), invisible characters dropped, trimmed."""
    return unicodedata.normalize("NFKC", value).translate(_INVISIBLE).strip()


def is_mangled_code(code: str) -> bool:
    """A code Excel turned into a number: 1.2E+07, or 200117.0."""
    return bool(_SCIENTIFIC.match(code) or _EXCEL_FLOAT.match(code))


def _quantity_readings(body: str) -> dict[str, str]:
    """Each plausible reading of an unsigned number, by decimal separator.

    ``{".": "1250.00"}`` for "1,250.00"; two different readings for "4,800"
    ("4800" with "." as decimal point, "4.800" with ","); ``{}`` for nonsense.
    """
    if _SPACE_GROUPED.match(body):
        body = body.replace(" ", "")
    if re.fullmatch(r"\d+", body):
        return {".": body, ",": body}
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        if body.rindex(".") > body.rindex(","):
            match = re.fullmatch(r"(\d{1,3}(?:,\d{3})+)\.(\d+)", body)
            return {".": match[1].replace(",", "") + "." + match[2]} if match else {}
        match = re.fullmatch(r"(\d{1,3}(?:\.\d{3})+),(\d+)", body)
        return {",": match[1].replace(".", "") + "." + match[2]} if match else {}
    if not dots and not commas:
        return {}
    separator, other = (".", ",") if dots else (",", ".")
    readings = {}
    # As a decimal point: one separator with digits on at least one side.
    if (dots or commas) == 1 and body != separator and re.fullmatch(rf"\d*\{separator}\d*", body):
        whole, _sep, fraction = body.partition(separator)
        readings[separator] = (whole or "0") + ("." + fraction if fraction else "")
    # As the other convention's thousands separator: groups of three.
    if re.fullmatch(rf"[1-9]\d{{0,2}}(?:\{separator}\d{{3}})+", body):
        readings[other] = body.replace(separator, "")
    return readings


def decimal_separator_of(values: Iterable[str], delimiter: str | None) -> str | None:
    """The decimal separator ("." or ",") a quantity column uses, when its values or the
    file tell; ``None`` when they do not (each value must then be clear on its own).

    ``values`` are the column's raw cells; ``delimiter`` is the file's (a
    comma-separated file writes "1,250.00"), ``None`` for XLSX.
    """
    styles = set()
    for value in values:
        readings = _quantity_readings(_unsigned(clean_text(value))[1])
        if len(readings) == 1:
            styles.update(readings)
    if len(styles) == 1:
        return styles.pop()
    if not styles and delimiter == ",":
        # A comma-separated file comes from a locale that writes "1,250.00".
        return "."
    return None


def _unsigned(text: str) -> tuple[bool, str]:
    text = text.replace("\u2212", "-")  # the typographic minus sign
    negative = False
    if text.startswith(("+", "-")):
        negative, text = text[0] == "-", text[1:]
    elif text.endswith("-"):  # SAP writes negatives as "96-"
        negative, text = True, text[:-1]
    return negative, text.strip()


def parse_quantity(value: str, decimal_separator: str | None = None) -> Decimal:
    """The quantity in ``value``; raises ``ValueError`` with a reason when unclear.

    ``decimal_separator`` ("." or ",") settles "4,800" and "1.200"; without it
    those are refused unless both readings agree.
    """
    text = clean_text(value)
    if not text:
        raise ValueError(_("empty"))
    if _SCIENTIFIC.match(text):
        raise ValueError(_("scientific notation hides digits; format the column as a number"))
    negative, body = _unsigned(text)
    readings = _quantity_readings(body)
    if not readings:
        raise ValueError(_("not a number"))
    if decimal_separator in readings:
        number = readings[decimal_separator]
    elif len(set(readings.values())) == 1:
        number = next(iter(readings.values()))
    else:
        raise ValueError(
            format_lazy(
                _("could be {} or {}; set the decimal separator for this node"),
                *sorted(readings.values(), key=Decimal),
            )
        )
    whole, _sep, fraction = number.partition(".")
    if len(fraction.rstrip("0")) > MAX_DECIMAL_PLACES:
        raise ValueError(format_lazy(_("more than {} decimal places"), MAX_DECIMAL_PLACES))
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(_("too large"))
    quantity = Decimal(number)
    return -quantity if negative and quantity else quantity


def parse_time(value: str) -> datetime:
    """A year-first date or date and time; naive values are factory local time."""
    text = clean_text(value)
    text = re.sub(r"[年月/.](?=\d)", "-", text.replace("日", "")) if "年" in text else text
    text = re.sub(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", text)
    match = _YEAR_FIRST.match(text)
    try:
        if match:
            parts = [int(part) if part else 0 for part in match.groups()[:6]]
            micro = int((match[7] or "0").ljust(6, "0"))
            moment = datetime(*parts, micro)
        else:
            moment = datetime.fromisoformat(text)  # with a UTC offset, or "Z"
            if not re.match(r"\d{4}", text):
                raise ValueError(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(_("not a year-first date and time")) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment
