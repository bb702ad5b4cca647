"""The drills live in the package: commands, entry points, the locustfile and the seeds."""

import subprocess
import sys
import tomllib

import pytest
from django.core.management import call_command, get_commands

from drills.fakes.process import DEMO_SEEDS
from drills.fault.options import parse_options as fault_options
from drills.load.options import parse_options as load_options
from drills.load.traffic import LOCUSTFILE
from drills.management.commands import drill, fault_drill
from drills.paths import ROOT


def test_the_drill_commands_belong_to_the_drills_app():
    commands = get_commands()
    for name in ("drill", "fault_drill", "export_drill_dataset"):
        assert commands[name] == "drills"


@pytest.mark.parametrize(
    ("command", "module", "entry", "parse"),
    [
        ("drill", drill, "drills.load", load_options),
        ("fault_drill", fault_drill, "drills.fault", fault_options),
    ],
)
def test_a_command_runs_its_drill_module_with_every_option(
    monkeypatch, command, module, entry, parse
):
    started = []

    def run(args, **_kwargs):
        started.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(module.subprocess, "run", run)
    call_command(command, "--users", "7")

    [args] = started
    assert args[:3] == [sys.executable, "-m", entry]
    options = parse(args[3:])
    assert options.users == 7
    expected = vars(parse(["--users", "7"]))
    if command == "drill":  # it names the report, to record the run in its own database
        assert options.report.endswith(".json")
        expected["report"] = options.report
    assert vars(options) == expected


def test_the_locustfile_ships_inside_the_package():
    assert LOCUSTFILE.is_file()
    assert LOCUSTFILE.parent == ROOT / "drills" / "load"


def test_the_fakes_seeds_are_package_data_and_what_make_run_uses():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    assert package_data["drills.fakes"] == ["*.json"]
    procfile = (ROOT / "Procfile").read_text()
    for kind, seed in DEMO_SEEDS.items():
        assert seed.is_file() and seed.parent == ROOT / "drills" / "fakes"
        assert f"-m drills.fakes --kind {kind} " in procfile
        assert f"--seed {seed.relative_to(ROOT)} " in procfile


@pytest.mark.parametrize("entry", ["drills.load", "drills.fault", "drills.fakes"])
def test_the_entry_points_answer_help_without_locust(entry):
    done = subprocess.run(
        [sys.executable, "-m", entry, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
