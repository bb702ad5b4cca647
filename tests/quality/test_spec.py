import pytest

from mes.errors import ApplicationError
from quality.spec import (
    answers_judge,
    answers_schema,
    answers_validate,
    spec_form_class,
    spec_validate,
)
from tests.quality.conftest import BAD, FIRST_ARTICLE, GOOD


def test_the_first_article_spec_is_valid_and_compiles_to_json_schema_and_a_form():
    assert spec_validate(FIRST_ARTICLE, for_publish=True) == FIRST_ARTICLE
    schema = answers_schema(FIRST_ARTICLE)
    assert schema["required"] == ["diameter", "surface", "chamfer", "inspector"]
    assert schema["properties"]["diameter"] == {"type": "number"}
    assert schema["additionalProperties"] is False
    form = spec_form_class(FIRST_ARTICLE)()
    assert list(form.fields) == ["diameter", "photo", "surface", "chamfer", "inspector"]
    assert "24.98" in form.fields["diameter"].help_text


@pytest.mark.parametrize(
    "fields",
    [
        [{"key": "a", "type": "script", "label": "x"}],  # not a field type
        [{"key": "a", "type": "text", "label": "x", "onload": "alert(1)"}],  # unknown key
        [{"key": "A b", "type": "text", "label": "x"}],  # key not a name
        [{"key": "a", "type": "number", "label": "x", "min": 5, "max": 1}],  # min above max
        [{"key": "a", "type": "text", "label": "x"}, {"key": "a", "type": "text", "label": "y"}],
        [{"key": "a", "type": "choice", "label": "x"}],  # a choice without options
        [{"key": "a", "type": "choice", "label": "x", "options": ["OK"], "pass_options": ["NG"]}],
        [{"key": "a", "type": "checkbox", "label": "x", "min": 1}],  # limits on a yes/no
        {"key": "a"},  # not a list
    ],
)
def test_a_malformed_spec_is_refused_with_qlt_002(fields):
    with pytest.raises(ApplicationError) as refused:
        spec_validate(fields)
    assert refused.value.code == "QLT-002"


def test_publishing_needs_a_field():
    spec_validate([])
    with pytest.raises(ApplicationError):
        spec_validate([], for_publish=True)


def test_answers_are_validated_by_the_compiled_schema_then_judged():
    assert answers_judge(FIRST_ARTICLE, answers_validate(FIRST_ARTICLE, GOOD)) == []
    assert answers_judge(FIRST_ARTICLE, answers_validate(FIRST_ARTICLE, BAD)) == ["diameter"]
    unticked = {**GOOD, "surface": False}
    assert answers_judge(FIRST_ARTICLE, unticked) == ["surface"]
    with pytest.raises(ApplicationError) as refused:
        answers_validate(FIRST_ARTICLE, {**GOOD, "diameter": "big"})
    assert refused.value.code == "QLT-005"
    assert "diameter" in refused.value.fields
    with pytest.raises(ApplicationError) as refused:
        answers_validate(FIRST_ARTICLE, {"diameter": 25.0, "extra": 1})
    assert {"surface", "chamfer", "inspector", "extra"} <= set(refused.value.fields)


def test_a_choice_passes_only_with_a_passing_option():
    fields = [
        {"key": "fit", "type": "choice", "label": "配合", "options": ["OK", "NG"],
         "pass_options": ["OK"]},
    ]  # fmt: skip
    assert answers_judge(fields, {"fit": "OK"}) == []
    assert answers_judge(fields, {"fit": "NG"}) == ["fit"]
    with pytest.raises(ApplicationError):
        answers_validate(fields, {"fit": "maybe"})
