"""How long does a page of the moderation queue take on a letter of N signatures?

Builds a SQLite database with the real migrations and the demo letters, bulk-inserts N
signatures into the G20 letter (the generator of ``dashboard.py``), signs in an administrator,
and prints the median of a few requests of ``/staff/moderation`` for the common views.

    .venv/bin/python benchmarks/moderation_queue.py            # 1,000,000 signatures
    .venv/bin/python benchmarks/moderation_queue.py 100000
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard  # the generator and the login of the dashboard benchmark

VIEWS = [
    ("newest first (page 1)", ""),
    ("oldest first", "&sort=oldest"),
    ("by name", "&sort=name"),
    ("awaiting approval", "&status=awaiting_approval"),
    ("one email domain (matches most)", "&q=domain:example.org"),
    ("text search", "&q=ana"),
    ("one country", "&country=DE"),
]


def main() -> int:
    count = int(sys.argv[1].replace("_", "")) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory(prefix="queue-") as tmp:
        app = dashboard.build_app(f"sqlite:///{tmp}/queue.sqlite3", Path(tmp))
        print(f"{count:,} signatures inserted in {dashboard.fill(app, count):.1f} s")
        client = dashboard.signed_in(app)

        def median_ms(url: str, times: int = 5) -> tuple[float, str]:
            spent = []
            for _ in range(times):
                started = time.perf_counter()
                answer = client.get(url)
                spent.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (url, answer.status_code)
            return statistics.median(spent), answer.get_data(as_text=True)

        base = f"/staff/moderation?letter={dashboard.SLUG}"
        for label, extra in VIEWS:
            ms, html = median_ms(base + extra)
            print(f"{label:34}{ms:8.0f} ms")
            if not extra:
                cursor = re.search(r"cursor=([^\"&]+)", html)
                assert cursor is not None
                ms, _ = median_ms(f"{base}&cursor={cursor.group(1)}")
                print(f"{'newest first (page 2)':34}{ms:8.0f} ms")
        ms, _ = median_ms("/staff/moderation")
        print(f"{'all letters, newest first':34}{ms:8.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
