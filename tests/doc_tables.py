"""The one way the test tables reach the docs: print a generated section, or with ``--write`` put
it between its markers in the doc (appended, markers and all, the first time)."""

from __future__ import annotations

import sys


def write_or_print(doc, start: str, end: str, section: str, argv, rows: int) -> int:
    if "--write" not in argv:
        sys.stdout.write(section)
        return 0
    text = doc.read_text(encoding="utf-8")
    if start in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
    else:
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    doc.write_text(f"{head}{start}\n{section}{end}{tail}", encoding="utf-8")
    print(f"wrote {rows} rows to {doc}")
    return 0
