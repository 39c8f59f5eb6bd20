"""How long, and in how much memory, do the signatory exports take at 10k, 100k and 1M signatures?

The parent builds one database with the real migrations and, with the data generator
(``petitions.services.data_generator``), one letter per size (``bench-10000`` …). Then each
measurement runs in a child process of its own, so its peak RSS is that export's alone (plus the
app every export process carries): the child builds the app, runs one query (connected, warm),
notes its memory high-water mark as the baseline, runs the export into a file, and reports.
The child reports its own high-water mark (``VmHWM``) at the end. Not ``ru_maxrss`` from
``wait4``/``RUSAGE_CHILDREN``: Linux carries the forked copy's high-water mark across ``exec``,
so every child would report at least the parent's size (140 MB here, after generating).

    .venv/bin/python benchmarks/exports.py
    .venv/bin/python benchmarks/exports.py --database-url postgresql://postgres@127.0.0.1/bench_db

On PostgreSQL everything happens in a schema of its own (``--pg-schema``), dropped at the end.
Exports hold every status (``--statuses all``, so the rows are the letter's size) or only the
counted signatures (``--statuses confirmed``, what the export form offers first).

``--plan pdf:10000,pdf:100000`` measures the delivery PDF (counted signatures only, Albanian
and English text) as its background job makes it: read, sort, digest, render, store, write out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402

from petitions import create_app  # noqa: E402
from petitions.extensions import db  # noqa: E402
from petitions.models.letters import Letter  # noqa: E402
from petitions.models.signatures import SignatureStatus  # noqa: E402
from petitions.services.data_generator import generate  # noqa: E402
from petitions.services.exports.signatory_rows import ExportFilter, iter_signatures  # noqa: E402
from petitions.services.exports.tabular import csv_chunks, write_xlsx  # noqa: E402

DEFAULT_PLAN = "csv:10000,csv:100000,csv:1000000,xlsx:10000,xlsx:100000"
FILTERS = {
    "all": ExportFilter(statuses=tuple(s.value for s in SignatureStatus)),
    "confirmed": ExportFilter(),
}


# --- the exports measured: (letter id, output file, filter) -> rows written -------------------


def export_csv(letter_id: int, path: Path, flt: ExportFilter) -> int:
    rows = 0

    def counted() -> Any:
        nonlocal rows
        for row in iter_signatures(letter_id, flt):
            rows += 1
            yield row

    with path.open("wb") as out:
        for chunk in csv_chunks(counted()):
            out.write(chunk)
    return rows


def export_xlsx(letter_id: int, path: Path, flt: ExportFilter) -> int:
    return write_xlsx(iter_signatures(letter_id, flt), str(path))


def export_pdf(letter_id: int, path: Path, flt: ExportFilter) -> int:
    """The delivery PDF as the job makes it (counted signatures: a PDF holds no others), then
    written out from the slices it is stored in."""
    from petitions.models.exports import PdfExport
    from petitions.services.exports import pdf_jobs
    from petitions.services.exports.delivery_document import PdfOptions
    from petitions.workers import pdf_builder

    if not set(flt.statuses) <= {"confirmed", "awaiting_approval"}:
        flt = ExportFilter()
    letter = db.session.get(Letter, letter_id)
    options = PdfOptions(languages=("sq", "en"), rows=flt)
    export, _new = pdf_jobs.request_pdf(
        letter, options, None, lambda code: f"https://x.test/v/{code}"
    )
    db.session.commit()
    pdf_builder.build_pdf(export.id)
    export = db.session.get(PdfExport, export.id, populate_existing=True)
    assert export is not None and export.status == "ready", export and export.error
    with path.open("wb") as out:
        for block in pdf_jobs.pdf_bytes(export):
            out.write(block)
    return export.count_total


EXPORTERS: dict[str, Callable[[int, Path, ExportFilter], int]] = {
    "csv": export_csv,
    "xlsx": export_xlsx,
    "pdf": export_pdf,
}


# --- the child: one export, measured ----------------------------------------------------------


def high_water_kb() -> int:
    """This process's peak resident memory so far (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(fmt: str, url: str, slug: str, out: str, statuses: str) -> int:
    app = make_app(url, Path(out).parent)
    with app.app_context():
        letter_id = db.session.scalar(select(Letter.id).where(Letter.slug == slug))
        assert letter_id is not None, slug
        baseline = high_water_kb()
        started = time.perf_counter()
        rows = EXPORTERS[fmt](letter_id, Path(out), FILTERS[statuses])
        seconds = time.perf_counter() - started
        db.session.rollback()
    peak = high_water_kb()
    print(json.dumps({"rows": rows, "seconds": seconds, "baseline_kb": baseline, "peak_kb": peak}))
    return 0


# --- the parent -----------------------------------------------------------------------------


def make_app(url: str, instance: Path) -> Flask:
    os.environ["PETITIONS_INSTANCE"] = str(instance)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
            "OUTBOX_WORKER": "external",
            "MAIL_URL": "console:",
        }
    )


def build(url: str, instance: Path, sizes: list[int]) -> None:
    app = make_app(url, instance)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    if result.exit_code != 0:
        raise SystemExit(f"flask db upgrade failed:\n{result.output}")
    with app.app_context():
        for size in sizes:
            made = generate(size, f"bench-{size}", seed=1)
            print(f"  generated {size:>9,} signatures in {made.seconds:6.1f} s", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE"
                )
        db.session.remove()
        db.engine.dispose()


def measure(fmt: str, url: str, size: int, folder: Path, statuses: str) -> dict[str, Any]:
    out = folder / f"bench-{size}.{fmt}"
    command = [sys.executable, __file__, "--child", fmt, url, f"bench-{size}", str(out), statuses]
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"{fmt} export of {size} failed ({finished.returncode})")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    figures.update(format=fmt, size=size, file_bytes=out.stat().st_size)
    out.unlink()
    return figures


def pg_url(base: str, schema: str) -> str:
    url = base.replace("postgres://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def reset_pg_schema(base: str, schema: str, create: bool = True) -> None:
    engine = create_engine(pg_url(base, "public"))
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if create:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", default=DEFAULT_PLAN, help="format:size pairs, comma-separated")
    parser.add_argument("--statuses", choices=sorted(FILTERS), default="all")
    parser.add_argument("--database-url", help="a postgresql:// URL instead of a SQLite file")
    parser.add_argument("--pg-schema", default="exports_bench", help="schema used on it")
    args = parser.parse_args()
    args.plan = [
        (fmt, int(size.replace("_", "")))
        for fmt, size in (item.split(":") for item in args.plan.split(","))
    ]
    unknown = {fmt for fmt, _ in args.plan} - set(EXPORTERS)
    if unknown:
        parser.error(f"no exporter for {', '.join(sorted(unknown))}")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql")):
        parser.error("--database-url must be a postgresql:// URL")
    if not args.pg_schema.isidentifier():
        parser.error("--pg-schema must be a plain identifier")
    return args


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(*sys.argv[2:7])
    args = parse_args()
    sizes = sorted({size for _, size in args.plan})
    results = []
    with tempfile.TemporaryDirectory(prefix="exports-bench-") as tmp:
        folder = Path(tmp)
        if args.database_url:
            reset_pg_schema(args.database_url, args.pg_schema)
            url, backend = pg_url(args.database_url, args.pg_schema), "postgresql"
        else:
            url, backend = f"sqlite:///{folder / 'bench.sqlite3'}", "sqlite"
        print(f"{backend}: building letters of {', '.join(f'{s:,}' for s in sizes)} signatures")
        build(url, folder, sizes)
        try:
            for fmt, size in args.plan:
                figures = measure(fmt, url, size, folder, args.statuses)
                results.append(figures)
                print(f"  {fmt} {size:,}: {figures['seconds']:.1f} s", flush=True)
        finally:
            if args.database_url:
                reset_pg_schema(args.database_url, args.pg_schema, create=False)

    print(f"\n{backend}, statuses: {args.statuses}; one child process per export")
    print(f"{'format':7}{'letter':>11}{'rows':>11}{'seconds':>9}{'rows/s':>9}"
          f"{'peak RSS MB':>13}{'app alone MB':>14}{'export MB':>11}{'file MB':>9}")  # fmt: skip
    for f in results:
        peak, base = f["peak_kb"] / 1024, f["baseline_kb"] / 1024
        print(f"{f['format']:7}{f['size']:>11,}{f['rows']:>11,}{f['seconds']:>9.1f}"
              f"{f['rows'] / max(f['seconds'], 1e-9):>9,.0f}{peak:>13.1f}{base:>14.1f}"
              f"{peak - base:>11.1f}{f['file_bytes'] / 1e6:>9.1f}")  # fmt: skip
    print("peak RSS: the child's VmHWM at its end; app alone: its VmHWM before the export began")
    return 0


if __name__ == "__main__":
    sys.exit(main())
