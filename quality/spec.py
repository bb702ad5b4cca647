"""A check's field spec, compiled on the server: to JSON Schema for the answers, to a
Django form for the pages, and to the pass rules that judge the answers.

The spec is a list of fields, each ``{"key", "type", "label", "required", ...}``
with the restricted types of ``FIELD_TYPES``. Nothing of it is evaluated as
code, on the server or on the phone: the phone builds its inputs from the
same list and the server judges the answers (``answers_judge``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
from django import forms
from django.utils.translation import gettext_lazy as _

from mes.errors import ApplicationError, ErrorCode
from quality import errors

CHECKBOX, NUMBER, TEXT, CHOICE, PHOTO, BADGE, SIGNATURE = (
    "checkbox",
    "number",
    "text",
    "choice",
    "photo",
    "badge",
    "signature",
)
FIELD_TYPES = {
    CHECKBOX: _("Yes/no check"),
    NUMBER: _("Measurement"),
    TEXT: _("Text"),
    CHOICE: _("Choice"),
    PHOTO: _("Photo"),
    BADGE: _("Badge scan"),
    SIGNATURE: _("Signature by PIN"),
}
MAX_FIELDS = 30
TEXT_MAX = 500

_OPTION = {"type": "string", "minLength": 1, "maxLength": 60}
_OPTIONS = {"type": "array", "items": _OPTION, "maxItems": 20, "uniqueItems": True}
# What a field spec may say; anything else (an unknown key, a script) is refused.
FIELD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["key", "type", "label"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
        "type": {"enum": list(FIELD_TYPES)},
        "label": {"type": "string", "minLength": 1, "maxLength": 100},
        "required": {"type": "boolean"},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "unit": {"type": "string", "maxLength": 16},
        "options": {**_OPTIONS, "minItems": 1},
        "pass_options": _OPTIONS,
        "must_be_checked": {"type": "boolean"},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": CHOICE}}},
            "then": {"required": ["options"]},
        },
        {
            "if": {"properties": {"type": {"not": {"const": NUMBER}}}},
            "then": {"not": {"anyOf": [{"required": ["min"]}, {"required": ["max"]}]}},
        },
    ],
}
SPEC_SCHEMA: dict[str, Any] = {"type": "array", "items": FIELD_SCHEMA, "maxItems": MAX_FIELDS}


def _spec_error(error: ErrorCode, problems: list[str]) -> ApplicationError:
    return ApplicationError(error, fields={"fields": problems})


def spec_validate(fields: Any, *, for_publish: bool = False) -> list[dict[str, Any]]:
    """``fields`` if it is a well-formed spec; ``QLT-002`` with every problem otherwise.

    A spec to publish needs at least one field.
    """
    validator = jsonschema.Draft202012Validator(SPEC_SCHEMA)
    problems = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '-'}: {error.message}"
        for error in validator.iter_errors(fields)
    ]
    if problems:
        raise _spec_error(errors.SPEC_INVALID, problems)
    keys = [field["key"] for field in fields]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.append(str(_("Field keys used twice: %s")) % ", ".join(duplicates))
    for field in fields:
        if "min" in field and "max" in field and field["min"] > field["max"]:
            problems.append(str(_("%s: the lower limit is above the upper one.")) % field["key"])
        stray = set(field.get("pass_options", [])) - set(field.get("options", []))
        if stray:
            problems.append(
                str(_("%s: a passing answer is not one of the options.")) % field["key"]
            )
    if for_publish and not fields:
        problems.append(str(_("A check needs at least one field.")))
    if problems:
        raise _spec_error(errors.SPEC_INVALID, problems)
    return fields


def _answer_schema(field: dict[str, Any]) -> dict[str, Any]:
    kind = field["type"]
    if kind == CHECKBOX:
        return {"type": "boolean"}
    if kind == NUMBER:
        return {"type": "number"}
    if kind == CHOICE:
        return {"enum": field["options"]}
    if kind == BADGE:
        return {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
    if kind == SIGNATURE:  # the PIN is checked by the service and kept as "signed"
        return {"const": "signed"}
    if kind == PHOTO:
        return {"type": "string", "minLength": 1, "maxLength": 200}
    return {"type": "string", "maxLength": TEXT_MAX}


def answers_schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema that the answers to ``fields`` must meet."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {field["key"]: _answer_schema(field) for field in fields},
        "required": [field["key"] for field in fields if field.get("required")],
    }


def answers_validate(fields: list[dict[str, Any]], answers: Any) -> dict[str, Any]:
    """``answers`` if they meet the compiled schema; ``QLT-005`` per field otherwise.

    Empty text is no answer (a phone sends ``""`` for an input left empty).
    """
    if isinstance(answers, dict):
        answers = {key: value for key, value in answers.items() if value not in ("", None)}
    validator = jsonschema.Draft202012Validator(answers_schema(fields))
    problems: dict[str, list[str]] = {}
    for error in validator.iter_errors(answers):
        if error.validator == "required":
            missing = [key for key in error.validator_value if key not in (error.instance or {})]
            for key in missing:
                problems.setdefault(key, []).append(str(_("This answer is required.")))
            continue
        if error.validator == "additionalProperties":  # answers to fields the check has not
            known = {field["key"] for field in fields}
            for key in sorted(set(error.instance) - known):
                problems.setdefault(key, []).append(str(_("This check has no such field.")))
            continue
        key = str(error.absolute_path[0]) if error.absolute_path else "answers"
        problems.setdefault(key, []).append(str(_("This answer does not fit the field.")))
    if problems:
        raise ApplicationError(errors.ANSWERS_INVALID, fields=problems)
    return answers


def answers_judge(fields: list[dict[str, Any]], answers: dict[str, Any]) -> list[str]:
    """The keys of the fields whose answer breaks their pass rule (empty: passed)."""
    failed = []
    for field in fields:
        value = answers.get(field["key"])
        if field["type"] == NUMBER and value is not None:
            number = Decimal(str(value))
            low, high = field.get("min"), field.get("max")
            if (low is not None and number < Decimal(str(low))) or (
                high is not None and number > Decimal(str(high))
            ):
                failed.append(field["key"])
        elif (field["type"] == CHECKBOX and field.get("must_be_checked") and value is not True) or (
            field["type"] == CHOICE
            and value not in field.get("pass_options", [value])
            and value is not None
        ):
            failed.append(field["key"])
    return failed


def field_rule_text(field: dict[str, Any]) -> str:
    """The pass rule in words, as the editor and the records show it."""
    if field["type"] == NUMBER and ("min" in field or "max" in field):
        unit = field.get("unit", "")
        return f"{field.get('min', '-')} ~ {field.get('max', '-')} {unit}".strip()
    if field["type"] == CHECKBOX and field.get("must_be_checked"):
        return str(_("must be yes"))
    if field["type"] == CHOICE and field.get("pass_options"):
        return " / ".join(field["pass_options"])
    return ""


def _form_field(field: dict[str, Any]) -> forms.Field:
    label, required = field["label"], bool(field.get("required"))
    kind = field["type"]
    if kind == CHECKBOX:
        return forms.BooleanField(label=label, required=required)
    if kind == NUMBER:
        unit = field.get("unit", "")
        return forms.DecimalField(
            label=f"{label} ({unit})" if unit else label,
            required=required,
            help_text=field_rule_text(field),
            widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        )
    if kind == CHOICE:
        choices = [("", "---"), *[(option, option) for option in field["options"]]]
        return forms.ChoiceField(label=label, required=required, choices=choices)
    if kind == PHOTO:
        return forms.FileField(
            label=label,
            required=required,
            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
        )
    if kind == SIGNATURE:
        return forms.CharField(
            label=label,
            required=required,
            widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        )
    return forms.CharField(label=label, required=required, max_length=TEXT_MAX)


def spec_form_class(fields: list[dict[str, Any]]) -> type[forms.Form]:
    """A Django form with one input per field, in the spec's order."""
    return type(
        "StepAnswersForm",
        (forms.Form,),
        {field["key"]: _form_field(field) for field in fields},
    )
