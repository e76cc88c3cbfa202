#!/usr/bin/env bash
# Cluster mode throughput on this machine: `run` against `cluster` with 1 process, 1 process
# x 2 threads and 2 processes on loopback, over the same 4 partitions (by user) of the
# seeded generated stream, with the bundled rule pack (stateful rules included). Prints
# wall time, events/s, peak RSS, loopback bytes for the 2-process run, and checks that the
# outputs are identical. Usage: benches/cluster.sh [EVENTS] (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
cargo build --release --features cluster --example generate -q
cargo build --release --features cluster -q
B=target/release/session-sigma
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
target/release/examples/generate events "$N" > "$T/all.jsonl"
python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
outs = [open(f"{d}/p{i}.jsonl", "w") for i in range(4)]
for line in open(f"{d}/all.jsonl"):
    h = 0xcbf29ce484222325
    for b in json.loads(line).get("user", "").encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    outs[h % 4].write(line)
PY
P="$T/p0.jsonl $T/p1.jsonl $T/p2.jsonl $T/p3.jsonl"
measure() { # name, command...
    local name=$1; shift
    local s e
    s=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$T/rss" "$@"
    e=$(date +%s.%N)
    printf '%-34s %6.2f s %8.0f events/s %7s KB peak RSS\n' "$name" "$(echo "$e - $s" | bc)" \
        "$(echo "$N / ($e - $s)" | bc)" "$(tail -1 "$T/rss")"
}
measure "run --threads 1 (one stream)" sh -c "$B run --threads 1 $T/all.jsonl > $T/run.out"
measure "cluster 1 process x 1 worker" $B cluster --output "$T/c1.out" $P
measure "cluster 1 process x 2 workers" $B cluster -w 2 --output "$T/c2.out" $P
printf '127.0.0.1:2301\n127.0.0.1:2302\n' > "$T/hosts"
lo0=$(cat /sys/class/net/lo/statistics/tx_bytes)
measure "cluster 2 processes x 1 worker" sh -c \
    "$B cluster -n 2 -p 1 -h $T/hosts $P > /dev/null & $B cluster -n 2 -p 0 -h $T/hosts --output $T/p2.out $P > /dev/null; wait"
lo1=$(cat /sys/class/net/lo/statistics/tx_bytes)
echo "loopback bytes during the 2-process run: $((lo1 - lo0)) ($(( (lo1 - lo0) / N )) per event)"
measure "cluster 1x1 with checkpoints/10m" $B cluster --checkpoint-dir "$T/ck" --checkpoint-every 10m --output "$T/ck.out" $P
cmp "$T/c1.out" "$T/c2.out" && cmp "$T/c1.out" "$T/p2.out" && cmp "$T/c1.out" "$T/ck.out" \
    && echo "cluster outputs identical ($(wc -l < "$T/c1.out") alerts)"
echo "checkpoint size: $(du -sh "$T/ck" | cut -f1)"
