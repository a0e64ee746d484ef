#!/usr/bin/env python3
"""Score a naive baseline against the html-eval main-text extraction set.

Default extractor: BeautifulSoup(html_bytes, "html.parser").get_text(separator="\n"),
with no other cleanup. It gives the floor that a real extractor has to beat.
With --trafilatura: trafilatura.extract(html, include_comments=False, include_tables=True).

Matching: the output's whitespace is collapsed to single spaces, then each snippet
is looked up as a case-sensitive substring. Per page, M = must snippets found and
N = must_not snippets found. recall = M/|must|, precision = M/(M+N), F1 = harmonic
mean. Totals are micro-averaged (M, N and |must| are summed over all pages).

Requirements: pip install beautifulsoup4 (and trafilatura for --trafilatura).
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.normpath(
    os.path.join(HERE, "..", "pipeline", "src", "test", "resources", "html-eval"))


def norm(text):
    return re.sub(r"\s+", " ", text).strip()


def extract_bs4(raw):
    from bs4 import BeautifulSoup
    # Pass bytes so BeautifulSoup (UnicodeDammit) detects the charset itself,
    # e.g. <meta charset="windows-1252">.
    return BeautifulSoup(raw, "html.parser").get_text(separator="\n")


def extract_trafilatura(raw):
    import trafilatura
    return trafilatura.extract(raw, include_comments=False, include_tables=True) or ""


def prf(found_must, found_not, n_must):
    recall = found_must / n_must if n_must else 0.0
    denom = found_must + found_not
    precision = found_must / denom if denom else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=DEFAULT_DIR, help="html-eval directory (labels.json + pages/)")
    ap.add_argument("--trafilatura", action="store_true", help="score trafilatura instead of raw bs4 get_text")
    ap.add_argument("--show-misses", action="store_true", help="list must snippets missed and must_not snippets leaked")
    args = ap.parse_args()

    if args.trafilatura:
        try:
            import trafilatura  # noqa: F401
        except ImportError:
            sys.exit("trafilatura is not installed (pip install trafilatura)")
        extract, name = extract_trafilatura, "trafilatura"
    else:
        try:
            import bs4  # noqa: F401
        except ImportError:
            sys.exit("beautifulsoup4 is not installed (pip install beautifulsoup4)")
        extract, name = extract_bs4, "bs4 get_text"

    with open(os.path.join(args.dir, "labels.json"), encoding="utf-8") as fh:
        labels = json.load(fh)

    tot_must = tot_found = tot_leak = tot_not = 0
    print(f"extractor: {name}")
    print(f"{'page':45s} {'must':>7s} {'leaked':>7s} {'P':>6s} {'R':>6s} {'F1':>6s}")
    for entry in labels:
        with open(os.path.join(args.dir, "pages", entry["file"]), "rb") as fh:
            raw = fh.read()
        out = norm(extract(raw))
        hits = [s for s in entry["must"] if s in out]
        leaks = [s for s in entry["must_not"] if s in out]
        p, r, f = prf(len(hits), len(leaks), len(entry["must"]))
        print(f"{entry['file']:45s} {len(hits):>3d}/{len(entry['must']):<3d} "
              f"{len(leaks):>3d}/{len(entry['must_not']):<3d} {p:6.3f} {r:6.3f} {f:6.3f}")
        if args.show_misses:
            for s in entry["must"]:
                if s not in hits:
                    print(f"    MISSED: {s}")
            for s in leaks:
                print(f"    LEAKED: {s}")
        tot_must += len(entry["must"])
        tot_found += len(hits)
        tot_not += len(entry["must_not"])
        tot_leak += len(leaks)

    p, r, f = prf(tot_found, tot_leak, tot_must)
    print("-" * 82)
    print(f"{'TOTAL (micro, ' + str(len(labels)) + ' pages)':45s} {tot_found:>3d}/{tot_must:<3d} "
          f"{tot_leak:>3d}/{tot_not:<3d} {p:6.3f} {r:6.3f} {f:6.3f}")
    print(f"precision={p:.4f} recall={r:.4f} f1={f:.4f}")


if __name__ == "__main__":
    main()
