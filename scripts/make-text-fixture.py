#!/usr/bin/env python3
"""Writes the text-classification fixture crates/strata/tests/data/fortunes.csv: fortunes
(the Debian package `fortunes`, BSD-licensed fortune-mod data files) labelled with the
file they come from, for a few topical files.

    apt-get install fortunes
    python3 scripts/make-text-fixture.py [/usr/share/games/fortunes] [out.csv]

Each fortune becomes one row `text,topic`: its lines joined with spaces, whitespace
collapsed. Attribution lines ("-- Name") are kept: they are part of the text as the file
has it. Rows are in file order, files in the order of TOPICS; fortunes longer than 1,000
characters are left out (a few long stories would dominate the fixture's size)."""
import csv
import os
import sys

TOPICS = ["computers", "food", "law", "medicine", "sports", "startrek"]
MAX_CHARS = 1000


def fortunes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for block in text.split("\n%\n"):
        t = " ".join(block.replace("%", " ").split())
        if t and len(t) <= MAX_CHARS:
            yield t


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/games/fortunes"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "crates/strata/tests/data/fortunes.csv")
    rows = [(t, topic) for topic in TOPICS for t in fortunes(os.path.join(src, topic))]
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "topic"])
        w.writerows(rows)
    counts = {t: sum(1 for _, x in rows if x == t) for t in TOPICS}
    print(f"wrote {out}: {len(rows)} rows, {os.path.getsize(out)} bytes; {counts}")


if __name__ == "__main__":
    main()
