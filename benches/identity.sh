#!/usr/bin/env bash
# Byte-identity of the CLI's outputs across a change: writes the stdout, stderr and exit
# code (and summaries) of `run`, `test`, `check`, `normalize`, `explain` and `cluster` on
# the bundled rules, examples/, a seeded generated stream and the shared real logs into
# OUT_DIR, one file per command.
#
#   benches/identity.sh OUT_DIR [BINARY]        # BINARY defaults to target/release/session-sigma
#   diff -r before/ after/ && echo identical
#
# Typical use: build the old commit, `benches/identity.sh /tmp/before /tmp/old-binary`;
# build the new one, `benches/identity.sh /tmp/after`; then `diff -r`. The binary must be
# built with `--features cluster` for the cluster commands (skipped otherwise). The real
# logs are read in place from ${SESSION_SIGMA_DATA:-../shared/data} (skipped if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: benches/identity.sh OUT_DIR [BINARY]}
B=$(realpath "${2:-target/release/session-sigma}")
DATA=${SESSION_SIGMA_DATA:-../shared/data}
mkdir -p "$OUT"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

n=0
# record NAME ARGS...: stdout, stderr and exit code of one command, paths made relative.
record() {
    local name=$1
    shift
    n=$((n + 1))
    local rc=0
    (cd "$T" && "$B" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err") || rc=$?
    echo "$rc" >"$OUT/$name.rc"
    if [ -f "$T/summary.json" ]; then
        mv "$T/summary.json" "$OUT/$name.summary"
    fi
}

ROOT=$(pwd)
ln -s "$ROOT/examples" "$T/examples"
ln -s "$ROOT/rules" "$T/rules"
ln -s "$ROOT/tests" "$T/tests"
[ -d "$DATA" ] && ln -s "$(realpath "$DATA")" "$T/data"

cargo run --release -q --example generate -- events 20000 7 >"$T/generated.jsonl"

for f in examples/events.jsonl examples/events-with-errors.jsonl generated.jsonl; do
    key=$(basename "$f" .jsonl)
    for threads in 1 2; do
        record "run-$key-t$threads" run --threads "$threads" --summary summary.json "$f"
    done
    record "run-$key-text" run --format text --summary summary.json "$f"
    record "run-$key-lateness" run --max-lateness 10m --eof flush --summary summary.json "$f"
    record "run-$key-state1" run --state state.json --summary summary.json "$f"
    record "run-$key-state2" run --state state.json --end-of-stream --summary summary.json "$f"
    rm -f "$T/state.json"
    record "normalize-$key" normalize "$f"
done
record "run-stdin-bounds" run --max-groups 5 --max-group-entries 3 --summary summary.json generated.jsonl
record "test-bundled" test
record "test-rules" test rules
record "check-rules" check rules
record "check-conformance" check tests/conformance
for r in rdp_logon workstation_locked_not_unlocked rdp_from_new_source_ip; do
    record "explain-$r" explain "$r"
done
if [ -d "$DATA" ]; then
    while IFS= read -r f; do
        key=$(echo "$f" | tr '/%,' '___')
        record "run-$key" run --summary summary.json "$f"
        record "run-$key-t2" run --threads 2 --summary summary.json "$f"
        record "run-$key-session" run --rules rules/session --rules rules/correlation --summary summary.json "$f"
        record "run-$key-lateness" run --max-lateness 1h --eof flush --summary summary.json "$f"
        record "normalize-$key" normalize "$f"
    done < <(cd "$T" && find -L data/evtx data/windows-json -type f \( -name '*.evtx' -o -name '*.json' -o -name '*.jsonl' \) | sort)
fi
for f in tests/data/linux/*; do
    key=$(echo "$f" | tr '/' '_')
    record "normalize-$key" normalize --year 2023 "$f"
    record "run-$key" run --year 2023 --summary summary.json "$f"
done
if "$B" cluster --help >/dev/null 2>&1; then
    python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
outs = [open(f"{d}/p{i}.jsonl", "w") for i in range(3)]
for line in open(f"{d}/generated.jsonl"):
    h = 0
    for b in json.loads(line).get("user", "").encode():
        h = (h * 31 + b) & 0xFFFFFFFFFFFFFFFF
    outs[h % 3].write(line)
PY
    for w in 1 2; do
        record "cluster-w$w" cluster -w "$w" --summary summary.json p0.jsonl p1.jsonl p2.jsonl
        record "cluster-w$w-lateness" cluster -w "$w" --max-lateness 2m --eof flush --summary summary.json p0.jsonl p1.jsonl p2.jsonl
    done
fi
echo "$n commands recorded in $OUT"
