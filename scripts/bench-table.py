#!/usr/bin/env python3
"""The closing table of `make bench`: every figure with a target, from the rows each benchmark
wrote to target/bench/*.json and from criterion's estimates of the law engine."""
import glob, json, os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target")
rows = []
crit = os.path.join(root, "criterion")
for path in sorted(glob.glob(os.path.join(crit, "*", "*", "new", "estimates.json"))):
    group, bench = path.split(os.sep)[-4:-2]
    meta = os.path.join(os.path.dirname(path), "benchmark.json")
    if os.path.exists(meta):
        bench = json.load(open(meta)).get("function_id", bench)
    ns = json.load(open(path))["median"]["point_estimate"]
    measured = f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.2f} µs"
    target, met = ("< 20 ms", ns < 20e6) if group == "load" else ("", None)
    rows.append({"what": f"law engine, {group}: {bench}", "measured": measured,
                 "target": target, "met": met})
for name in ["reload", "desktop", "evidence", "flac", "archive", "capture", "app", "corpus"]:
    path = os.path.join(root, "bench", f"{name}.json")
    if os.path.exists(path):
        rows.extend(json.load(open(path)))
    else:
        rows.append({"what": f"({name}: not measured in this run)", "measured": "", "target": "", "met": None})
width = max(len(r["what"]) for r in rows)
print(f"\nonrecord benchmarks, this run\n\n{'':<{width}}  {'measured':>26}  {'target':<30} ")
for r in rows:
    verdict = {True: "met", False: "NOT MET", None: ""}[r["met"]]
    print(f"{r['what']:<{width}}  {r['measured']:>26}  {r['target']:<30} {verdict}")
