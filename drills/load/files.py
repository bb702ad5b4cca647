"""Where one run of the load drill keeps its files."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class RunFiles:
    out_dir: Path  # the results, kept: Locust's CSV files, the report, the logs
    work: Path  # removed after the run: the fixture and the keys log
    stamp: str  # the run's time, in the names of its results
    report_path: Path | None = None  # --report; else drill-<stamp>.json in out_dir

    @classmethod
    def create(cls, out_dir: Path, report_path: Path | None = None) -> RunFiles:
        out_dir.mkdir(parents=True, exist_ok=True)
        if report_path is not None:
            report_path.parent.mkdir(parents=True, exist_ok=True)
        return cls(
            out_dir=out_dir,
            work=Path(tempfile.mkdtemp(prefix="mes-drill-run-")),
            stamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            report_path=report_path,
        )

    @property
    def fixture(self) -> Path:
        """What ``seed`` returned (or ``--fixture``), for the locustfile."""
        return self.work / "fixture.json"

    @property
    def keys_log(self) -> Path:
        """Every scan key the locustfile sent, with its outcome."""
        return self.work / "keys.tsv"

    @property
    def csv_prefix(self) -> Path:
        return self.out_dir / f"drill-{self.stamp}-locust"

    @property
    def report(self) -> Path:
        return self.report_path or self.out_dir / f"drill-{self.stamp}.json"
