"""Time the log redaction on long hostile header text (the issue's 19.8 KB and a 64 KB case).

Two figures per input: ``redact()`` on the text alone (one pass), and one log record carrying the
text as an argument through what a deployment runs (the record factory, the filter on the
logger and the filter on its handler), formatted by a handler as it would be written.

    .venv/bin/python benchmarks/log_redaction.py                 # every input
    .venv/bin/python benchmarks/log_redaction.py --only word-19.8k,word-64k

Against another checkout (e.g. the code before a change), put it first on the path:
``PYTHONPATH=/path/to/checkout .venv/bin/python benchmarks/log_redaction.py``.
"""

from __future__ import annotations

import argparse
import io
import logging
import time

import petitions
from petitions.web.log_redaction import install_redaction, redact

KB = 1024


def inputs() -> dict[str, str]:
    size = 64 * KB
    return {
        # The case: a 19.8 KB header of word characters (e.g. a User-Agent).
        "word-19.8k": "a" * 19_800,
        "word-64k": "a" * size,
        "dots-64k": ("a." * size)[:size],
        "at-64k": ("a@" * size)[:size],
        "equals-64k": ("a=" * size)[:size],
        "dash-64k": "-" * size,
        "pct40-64k": ("a%40a.b" * size)[:size],
        "token-like-64k": ("abcdefgh.ijkl." * size)[:size],
        "mixed-64k": ("Ab9_-.=@%40.x+" * size)[:size],
    }


def time_it(action: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", help="comma-separated input names")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    args = parser.parse_args()
    chosen = inputs()
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",")}

    # The access log's logger with a handler, as the development server has: the record factory,
    # the logger's filter and the handler's filter each see every record.
    logger = logging.getLogger("werkzeug")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    logger.addHandler(handler)
    install_redaction("petitions")

    print(f"code: {petitions.__file__}")
    print(f"{'input':<16} {'chars':>7} {'redact() ms':>12} {'log record ms':>14} {'logged':>8}")
    for name, text in chosen.items():
        one_pass = time_it(lambda text=text: redact(text), args.repeat)

        def log_once(text: str = text) -> None:
            sink.seek(0)
            sink.truncate()
            logger.info('"GET / HTTP/1.1" 200 - "%s"', text)

        through_logging = time_it(log_once, args.repeat)
        print(
            f"{name:<16} {len(text):>7} {one_pass * 1000:>12.1f} {through_logging * 1000:>14.1f}"
            f" {len(sink.getvalue()):>8}"
        )


if __name__ == "__main__":
    main()
