"""The fault drill's checks: what each fault must have shown, and PASS, WARN or FAIL."""

from __future__ import annotations

import json

from drills.fault.options import EXPECTED_INCIDENTS
from drills.fault.outage_watch import alerting_checks


def judge(report: dict) -> list[dict]:
    faults = {fault["fault"]: fault for fault in report["faults"]}
    return [
        *database_checks(faults["database"]),
        broker_check(faults.get("rabbitmq") or faults["redis"]),
        *[
            {
                "check": f"{fault['fault']}: recovers by itself",
                "got": f"{fault['recovered_in_s']} s",
                "pass": True,
            }
            for fault in report["faults"]
        ],
        beat_check(faults["beat"]),
        erp_check(faults["erp"]),
        *incident_checks(report["faults"]),
        *alerting_checks(faults["database"], report.get("watchdog_started", {})),
        integrity_check(report["integrity"]),
        outbox_check(report["outbox"]),
        transitions_check(report["transitions"]),
        exits_check(report["unexpected_exits"]),
        {
            "check": "no system incident left unresolved at the end",
            "got": ", ".join(report["unresolved_incidents"]) or "none",
            "pass": not report["unresolved_incidents"],
        },
    ]


def verdict(check: dict) -> str:
    if check["pass"]:
        return "PASS"
    return "WARN" if check.get("warn") else "FAIL"


def database_checks(database: dict) -> list[dict]:
    return [
        {
            "check": f"database away: {name} answers 503 SYS-002",
            "got": f"{database[f'{name}_503_sys002']} of {database['samples']} samples "
            f"{json.dumps(database[f'{name}_answers'])}",
            "pass": database["samples"] > 0
            and database[f"{name}_503_sys002"] == database["samples"],
        }
        for name in ("api", "page", "readyz")
    ]


def broker_check(broker_fault: dict) -> dict:
    """Redis or RabbitMQ away, whichever the drill ran with (``--broker``)."""
    sys003 = sum(n for answer, n in broker_fault["readyz_answers"].items() if "SYS-003" in answer)
    return {
        "check": f"{broker_fault['fault']} away: /readyz answers 503 SYS-003, "
        "the API keeps answering",
        "got": f"readyz {json.dumps(broker_fault['readyz_answers'])}, "
        f"api {json.dumps(broker_fault['api_answers'])}",
        "pass": sys003 > 0 and set(broker_fault["api_answers"]) == {"200"},
    }


def beat_check(beat: dict) -> dict:
    return {
        "check": "beat: no heartbeat while stopped, the scheduled task runs again after",
        "got": f"heartbeat while stopped: {beat['heartbeat_while_stopped']}, "
        f"ran again after {beat['recovered_in_s']} s",
        "pass": not beat["heartbeat_while_stopped"],
    }


def erp_check(erp: dict) -> dict:
    return {
        "check": "erp away: deliveries failed, then the backlog was delivered within the "
        "bound of the retry policy",
        "got": f"{erp['failed_attempts_meanwhile']} messages failed "
        f"(last error {erp['node_last_error']}), backlog delivered "
        f"{erp['recovered_in_s']} s after the restart (bound {erp['bound_s']} s: "
        f"{erp['retry_policy']})",
        "pass": erp["failed_attempts_meanwhile"] > 0 and erp["recovered_in_s"] <= erp["bound_s"],
    }


def incident_checks(faults: list[dict]) -> list[dict]:
    checks = []
    for fault in faults:
        expected = EXPECTED_INCIDENTS[fault["fault"]]
        incidents = fault["incidents"]
        raised = sorted({i["code"] for i in incidents if i["code"] in expected})
        unresolved = [i for i in incidents if i["code"] in expected and i["state"] != "resolved"]
        seen = ", ".join(f"{i['code']} {i['source']} ({i['state']})" for i in incidents) or "none"
        checks.append(
            {
                "check": f"{fault['fault']}: incidents raised and resolved "
                f"(expected {', '.join(expected) or 'none'})",
                "got": seen,
                "pass": raised == sorted(expected) and not unresolved,
            }
        )
    return checks


def integrity_check(integrity: dict) -> dict:
    return {
        "check": "every key sent applied exactly once; ledger = balances",
        "got": f"{integrity['sent']} keys: {integrity['applied_once']} applied once "
        f"({sum(integrity['resent_then_applied'].values())} of them first unanswered and "
        f"sent again: {json.dumps(integrity['resent_then_applied'])}), "
        f"{integrity['refused_not_applied']} refused and not applied, "
        f"{integrity['no_answer']} never answered, {integrity['problems']} problems, "
        f"{integrity['ledger_drift']} drifted balances",
        "pass": integrity["ok"] and integrity["no_answer"] == 0 and integrity["sent"] > 0,
    }


def outbox_check(outbox: dict) -> dict:
    return {
        "check": "every outbox message delivered, applied once, in order per aggregate",
        "got": f"{outbox['messages']} messages, {outbox['delivered']} delivered, "
        f"{outbox['received']} applied by the fakes "
        f"({outbox['duplicates_refused']} repeats refused by message id); "
        + ("; ".join(outbox["problems"]) or "no problems"),
        "pass": outbox["ok"] and outbox["messages"] > 0,
    }


def transitions_check(transitions: dict) -> dict:
    return {
        "check": "no work-order transition doubled",
        "got": f"{transitions['floor_transitions']} floor transitions, "
        f"{transitions['doubled_keys']} keys and "
        f"{transitions['doubled_operation_moves']} operation moves twice",
        "pass": transitions["ok"] and transitions["floor_transitions"] > 0,
    }


def exits_check(exits: list[dict]) -> dict:
    exited = [f"{e['process']} during {e['during']} (exit {e['exit']})" for e in exits]
    return {
        "check": "no worker or beat exited by itself (restarted as compose would)",
        "got": ", ".join(exited) or "none",
        "pass": not exits,
        "warn": True,  # reported, not failing the verdict: see docs/fault-drill.md
    }
