"""Schemathesis against the project's own OpenAPI schema, in process, as each role.

For every operation of ``/api/schema/`` and every role, requests generated
from the schema (valid ones and ones that break it) go through the WSGI app
with the role's API token (the inbound push with a node's token) on the demo
data, writes with an ``Idempotency-Key``. Each answer must be no server error,
match the schema when its status is documented, and, when it is an error,
carry the project's error payload with a code. Path ids are drawn from the
demo data half of the time, so that the requests reach the services and not
only the 404.

Nothing is excluded: the floor actions' multipart form (fault photos) is
generated from the schema like its JSON, and the API has no streaming
export (the CSV and Excel exports are pages, outside the schema).

Reproduce one failure: ``pytest tests/api_fuzz/test_schema_fuzz.py -k "worker and movements"``
(the run is derandomized, so it finds the same example; the report shows it
as a curl command).
"""

from __future__ import annotations

import functools
import itertools

import pytest
import schemathesis
from django.apps import apps
from django.core.wsgi import get_wsgi_application
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_fuzz.conftest import ROLES
from tests.api_fuzz.harness import (
    FUZZ_SETTINGS,
    app_keeps_test_connection,
    error_payload_problem,
    rolled_back,
)

pytestmark = pytest.mark.timeout(120)

SCHEMA_PATH = "/api/schema/"
# Per operation and role; with 5 roles and about 70 operations this keeps the
# module under two minutes on SQLite and PostgreSQL (docs/security.md).
MAX_EXAMPLES = 8
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The model whose rows a path's ``{id}`` names, for ids drawn from the demo data.
PATH_ID_MODELS = {
    "/api/v1/batches/": "inventory.Batch",
    "/api/v1/locations/": "inventory.Location",
    "/api/v1/materials/": "inventory.Material",
    "/api/v1/movements/": "inventory.StockMovement",
    "/api/v1/reservations/": "inventory.StockReservation",
    "/api/v1/incidents/": "monitoring.Incident",
    "/api/v1/operations/": "workorders.WorkOrderOperation",
    "/api/v1/work-orders/": "workorders.WorkOrder",
    "/api/v1/work-centers/": "workorders.WorkCenter",
    "/api/v1/reconciliation/runs/": "integrations.ReconciliationRun",
}
NODE_INBOUND_PATH = "/api/v1/nodes/{node}/inbound/{kind}/"
INBOUND_KINDS = ("materials", "locations", "batches", "production_orders", "purchase_receipts")


@schemathesis.check
def error_answer_carries_its_code(ctx, response, case):
    """Every 4xx and 5xx of the API is ``{"code", "severity", "message", "fields"}``."""
    problem = error_payload_problem(
        response.status_code,
        response.headers.get("content-type", [""])[0],
        response.content,
    )
    if problem:
        raise AssertionError(problem)
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_answer_carries_its_code,
]


@functools.cache
def api_schema():
    """The schema as the app serves it at /api/schema/, calls going to the app in process."""
    app = get_wsgi_application()
    with app_keeps_test_connection():
        return schemathesis.openapi.from_wsgi(SCHEMA_PATH, app)


def _operations() -> list[tuple[str, str]]:
    found = []
    for result in api_schema().get_all_operations():
        operation = result.ok()
        found.append((operation.method.upper(), operation.path))
    return sorted(found, key=lambda item: (item[1], item[0]))


OPERATIONS = _operations()


def _demo_ids(path: str) -> list[int]:
    prefix = next((p for p in PATH_ID_MODELS if path.startswith(p)), None)
    if prefix is None:
        return []
    model = apps.get_model(PATH_ID_MODELS[prefix])
    # Rows in every state the demo has, not only the first few.
    ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
    return ids[:: max(1, len(ids) // 12)]


def _case_strategy(operation, world):
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    path = operation.path
    param_names = [p.name for p in operation.path_parameters]
    choices: list = []
    for mode in modes:
        choices.append(operation.as_strategy(generation_mode=mode))
        if path == NODE_INBOUND_PATH:
            for node, kind in itertools.product(world.node_tokens, INBOUND_KINDS):
                params = {"node": node, "kind": kind}
                choices.append(operation.as_strategy(generation_mode=mode, path_parameters=params))
        elif param_names:
            ids = _demo_ids(path)
            if ids:
                (name,) = param_names
                choices.append(
                    st.sampled_from(ids).flatmap(
                        lambda pk, mode=mode, name=name: operation.as_strategy(
                            generation_mode=mode, path_parameters={name: pk}
                        )
                    )
                )
    return st.one_of(choices)


def _fuzz(world, method: str, path: str, authorization, label: str) -> None:
    operation = api_schema()[path][method]
    keys = itertools.count()

    @settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
    @given(case=_case_strategy(operation, world))
    def fuzz(case):
        headers = dict(case.headers or {})
        headers["Authorization"] = authorization(case)
        # In process the answer is not decompressed as a client would (the floor gzips).
        headers["Accept-Encoding"] = "identity"
        if case.method.upper() in WRITE_METHODS:
            headers["Idempotency-Key"] = f"fuzz-{label}-{next(keys)}"
        case.headers = headers
        with rolled_back():
            response = case.call()
            case.validate_response(response, checks=CHECKS)

    with app_keeps_test_connection():
        fuzz()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_answers_as_its_schema_says(fuzz_world, db, role, method, path):
    token = fuzz_world.tokens[role]
    _fuzz(fuzz_world, method, path, lambda case: f"Token {token}", role)


def test_node_inbound_answers_as_its_schema_says(fuzz_world, db):
    """The nodes' own endpoint, with the token of the node the path names."""

    def authorization(case) -> str:
        token = fuzz_world.node_tokens.get(str(case.path_parameters.get("node")), "unknown")
        return f"Node {token}"

    _fuzz(fuzz_world, "POST", NODE_INBOUND_PATH, authorization, "node")
