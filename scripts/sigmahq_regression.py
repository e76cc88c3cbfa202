#!/usr/bin/env python3
"""Runs SigmaHQ's regression data against session-sigma: for every
regression_data/**/info.yml, the rules it names (by id) run on its EVTX files, and each must
fire. Usage: scripts/sigmahq_regression.py SIGMA_CHECKOUT [SESSION_SIGMA_BINARY]

Nothing of SigmaHQ is copied into this repository: point it at a checkout.
"""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(sys.argv[1])
binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/session-sigma"

# Rule id -> rule file, from every rules folder of the checkout.
ids = {}
for folder in root.glob("rules*"):
    for f in folder.rglob("*.yml"):
        m = re.search(r"^id:\s*([0-9a-fA-F-]{36})\s*$", f.read_text(errors="replace"), re.M)
        if m:
            ids[m.group(1).lower()] = f

passed, failed, missing, not_compiled = [], [], [], []
for info in sorted(root.glob("regression_data/**/info.yml")):
    text = info.read_text(errors="replace")
    rule_ids = re.findall(r"^\s*-\s*id:\s*([0-9a-fA-F-]{36})", text, re.M)
    evtx = [root / p for p in re.findall(r"^\s*path:\s*(\S+\.evtx)\s*$", text, re.M)]
    for rid in rule_ids:
        rule = ids.get(rid.lower())
        if rule is None or not evtx:
            missing.append(rid)
            continue
        out = subprocess.run(
            [binary, "run", "--unset-placeholders", "wildcard", "--rules", str(rule), *map(str, evtx)],
            capture_output=True, text=True)
        if out.returncode != 0:
            not_compiled.append((rule.relative_to(root), out.stderr.strip().splitlines()[-1:]))
            continue
        fired = any(json.loads(l)["rule"].get("id", "").lower() == rid.lower()
                    for l in out.stdout.splitlines() if l.strip())
        (passed if fired else failed).append(rule.relative_to(root))

print(f"{len(passed)} fired, {len(failed)} did not fire, {len(not_compiled)} did not compile, "
      f"{len(missing)} rule ids or files not found")
for f in failed:
    print("  did not fire:", f)
for f, why in not_compiled:
    print("  did not compile:", f, why)
sys.exit(1 if failed or not_compiled else 0)
