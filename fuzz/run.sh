#!/usr/bin/env bash
# The fuzzing campaign: seed corpora, then every target for SECONDS each, two at a time.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets
# it use the nightly-only sanitizer flags. Seeds come from the repository (rules/,
# tests/conformance/, tests/data/, examples/) and from the shared real logs in
# ${SESSION_SIGMA_DATA:-../shared/data} (read in place; copies go only into the gitignored
# fuzz/corpus/). Findings land in fuzz/artifacts/<target>/, logs in fuzz/logs/.
# Not run by CI.
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
SECONDS_PER_TARGET=$1
shift

FUZZ=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$FUZZ")
cd "$ROOT"
DATA=${SESSION_SIGMA_DATA:-../shared/data}
export RUSTC_BOOTSTRAP=1

ALL_TARGETS=(rule_file condition projection adapter_evtx adapter_syslog adapter_windows checkpoint engine_reference)
if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

CORPUS=$FUZZ/corpus
LOGS=$FUZZ/logs
mkdir -p "$CORPUS" "$LOGS"

# ------------------------------------------------------------------------------------------
# Seeds: each one a file named by its hash (so reruns add nothing twice).
# ------------------------------------------------------------------------------------------

# wants TARGET: is TARGET run this time? (Only its seeds are built.)
wants() {
    [[ " ${TARGETS[*]} " == *" $1 "* ]]
}

# seed TARGET FILE: copies FILE into the target's corpus.
seed() {
    if ! wants "$1"; then return 0; fi
    local dir=$CORPUS/$1
    mkdir -p "$dir"
    if [[ ! -s $2 ]]; then return 0; fi
    cp "$2" "$dir/seed-$(sha1sum <"$2" | cut -c1-16)"
}

# seed_text TARGET: stdin is one seed.
seed_text() {
    if ! wants "$1"; then
        cat >/dev/null
        return 0
    fi
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    seed "$1" "$tmp"
    rm -f "$tmp"
}

# seed_lines TARGET FILE [MAX]: each of the first MAX (default 200) non-blank lines of FILE.
seed_lines() {
    if ! wants "$1"; then return 0; fi
    local n=0 line h dir=$CORPUS/$1
    mkdir -p "$dir"
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ -z ${line//[[:space:]]/} ]]; then continue; fi
        h=$(printf '%s' "$line" | sha1sum)
        printf '%s' "$line" >"$dir/seed-${h:0:16}"
        n=$((n + 1))
        if [[ $n -ge ${3:-200} ]]; then break; fi
    done <"$2"
    return 0
}

# seed_chunks TARGET FILE LINES: FILE cut into pieces of LINES lines (and the first 200 lines).
seed_chunks() {
    if ! wants "$1"; then return 0; fi
    local tmp
    tmp=$(mktemp -d)
    head -n 200 "$2" | seed_text "$1"
    split -l "$3" "$2" "$tmp/part-"
    for f in "$tmp"/part-*; do seed "$1" "$f"; done
    rm -rf "$tmp"
}

build_seeds() {
    local f
    echo "== seed corpora in $CORPUS"
    # rule_file: whole rule files.
    if wants rule_file; then
        while IFS= read -r -d '' f; do seed rule_file "$f"; done \
            < <(find rules tests/conformance -name '*.yml' -print0)
    fi

    # condition: every condition written in those files, and a few edge cases.
    while IFS= read -r -d '' f; do
        sed -n 's/^ *condition: *//p' "$f" | { grep -v '^{' || true; } | sed "s/^'\(.*\)'$/\1/" \
            | while IFS= read -r c; do printf '%s' "$c" | seed_text condition; done
    done < <(find rules tests/conformance -name '*.yml' -print0)
    for c in 'a or b and not c' 'not (a and (b or not c))' '1 of sel_* and not all of filter*' \
        'all of them' 'any of x*' 'sel | count() > 5' '((a))' 'not not a' 'A AND NOT B OR C'; do
        printf '%s' "$c" | seed_text condition
    done

    # projection: session events and Windows JSON records, one line each.
    for f in examples/events.jsonl examples/events-with-errors.jsonl tests/data/linux/journal.jsonl; do
        seed_lines projection "$f"
    done
    printf '%s' '{"a":{"b":{"c":"\u00e9\ud83d\ude00"},"b.c":[1,-0,1e3,"x"]},"a.b":null,"n":12345678901234567890,"\u00e9":"X","q\"t":true,"":{}}' \
        | seed_text projection
    printf '%s' '{"user":"A","user":"b","raw":{"EventData":{"LogonType":10},"EventData.LogonType":"3"}}' \
        | seed_text projection

    # adapter_syslog: auth.log / secure / journal, whole and in pieces.
    for f in tests/data/linux/*; do seed_chunks adapter_syslog "$f" 12; done

    # adapter_windows: one record of every shape (Winlogbeat 7+ and the flattened form are
    # not in the shared data); more from the shared data below.
    seed_text adapter_windows <<'EOF'
{"@timestamp":"2024-05-01T10:00:00.123Z","event":{"code":"4624","provider":"Microsoft-Windows-Security-Auditing"},"winlog":{"event_id":"4624","channel":"Security","computer_name":"WS7.corp.example","provider_name":"Microsoft-Windows-Security-Auditing","record_id":991,"event_data":{"LogonType":"10","TargetUserName":"eve","TargetDomainName":"CORP","TargetLogonId":"0x1A2B","IpAddress":"198.51.100.4","IpPort":"50123","WorkstationName":"LAPTOP9"}},"message":"An account was successfully logged on."}
EOF
    seed_text adapter_windows <<'EOF'
{"EventID":4624,"Channel":"Security","Computer":"H1.corp","TimeCreated":"2024-05-01T08:00:00Z","LogonType":3,"TargetUserName":"svc","TargetDomainName":"CORP","TargetLogonId":"0xff","IpAddress":"::ffff:10.1.2.3","IpPort":"-"}
EOF
    seed_text adapter_windows <<'EOF'
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-TerminalServices-LocalSessionManager"}},"EventID":21,"Channel":"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational","Computer":"WS1.corp","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T09:00:00.0000001Z"}}},"UserData":{"EventXML":{"User":"CORP\\bob","SessionID":3,"Address":"LOCAL"}}}}
EOF
    seed_text adapter_windows <<'EOF'
{"TimeGenerated":"2024-05-01T10:00:00Z","EventID":4625,"Channel":"Security","Computer":"DC1.corp","Activity":"4625 - An account failed to log on.","LogonType":3,"TargetUserName":"admin","IpAddress":"203.0.113.5"}
EOF
    seed_text adapter_windows <<'EOF'
{"@timestamp":"2020-09-04T07:30:30.145Z","EventTime":"2020-09-04 03:30:30","Hostname":"WORKSTATION5.theshire.local","EventID":4800,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"pgustavo","TargetDomainName":"THESHIRE","TargetLogonId":"0x2ff1a","SessionId":"1"}
EOF

    # checkpoint: states of the bundled pack written by `run --state` after a part of the
    # sample events (max_lateness 5m, as the target's engine), and an empty engine's state.
    local tmp n
    tmp=$(mktemp -d)
    if wants checkpoint; then cargo build --quiet --release --bin session-sigma; fi
    for n in 0 5 12 20 30 42; do
        if ! wants checkpoint; then break; fi
        head -n "$n" examples/events.jsonl >"$tmp/events.jsonl"
        rm -f "$tmp/state.json"
        target/release/session-sigma run --max-lateness 5m --state "$tmp/state.json" \
            "$tmp/events.jsonl" >/dev/null 2>&1 || true
        seed checkpoint "$tmp/state.json"
        rm -f "$tmp/state.json"
        target/release/session-sigma run --state "$tmp/state.json" \
            "$tmp/events.jsonl" >/dev/null 2>&1 || true
        seed checkpoint "$tmp/state.json"
    done
    rm -rf "$tmp"

    # engine_reference: random bytes (any bytes decode to a scenario).
    for n in $(seq 1 16); do head -c $((n * 64)) /dev/urandom | seed_text engine_reference; done

    # The shared real logs.
    if [[ -d $DATA ]]; then
        echo "== shared data: $DATA"
        while IFS= read -r -d '' f; do seed adapter_evtx "$f"; done \
            < <(find "$DATA" -name '*.evtx' -print0)
        while IFS= read -r -d '' f; do
            seed_lines adapter_windows "$f" 40
            seed_lines projection "$f" 10
        done < <(find "$DATA" -name '*.jsonl' -print0)
        while IFS= read -r -d '' f; do seed_chunks adapter_syslog "$f" 12; done \
            < <(find "$DATA" \( -name '*.log' -o -name '*syslog*' -o -name '*auth*' \) -type f -print0)
    else
        echo "== shared data not found at $DATA (set SESSION_SIGMA_DATA): seeds from the repository only"
        # An EVTX header alone, so that the target starts with the magic.
        printf 'ElfFile\0' | seed_text adapter_evtx
    fi
    for t in "${ALL_TARGETS[@]}"; do mkdir -p "$CORPUS/$t"; done
}

# ------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------

# Extra libFuzzer options per target.
extra_flags() {
    case $1 in
        # EVTX files in the seeds are up to 2 MB; inputs beyond 128 KiB only slow the search.
        adapter_evtx) echo "-max_len=131072" ;;
        rule_file | checkpoint) echo "-max_len=65536" ;;
        *) echo "-max_len=8192" ;;
    esac
}

run_one() {
    local t=$1 start end
    start=$(date +%s)
    mkdir -p "$FUZZ/artifacts/$t"
    # The binary `cargo fuzz build` made (what `cargo fuzz run` runs), started directly: a
    # source change during the campaign does not rebuild it halfway.
    # shellcheck disable=SC2046
    "$BIN/$t" "$CORPUS/$t" -artifact_prefix="$FUZZ/artifacts/$t/" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=1 -rss_limit_mb=2048 \
        -print_final_stats=1 $(extra_flags "$t") >"$LOGS/$t.log" 2>&1 || true
    end=$(date +%s)
    echo $((end - start)) >"$LOGS/$t.seconds"
}

report() {
    printf '\n%-18s %12s %8s %8s %8s %8s %9s %6s\n' target executions cov ft corpus crashes timeouts secs
    local t log status execs cov ft corpus crashes timeouts secs
    for t in "${TARGETS[@]}"; do
        log=$LOGS/$t.log
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
        # The last status line (`#N  REDUCE cov: C ft: F corp: …`, `#N  DONE …`).
        status=$(grep -E '^#[0-9]+[[:space:]]' "$log" 2>/dev/null | tail -1)
        cov=$(grep -oE ' cov: [0-9]+' <<<"$status" | cut -d' ' -f3)
        ft=$(grep -oE ' ft: [0-9]+' <<<"$status" | cut -d' ' -f3)
        corpus=$(find "$CORPUS/$t" -type f 2>/dev/null | wc -l)
        crashes=$(find "$FUZZ/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'leak-*' \) 2>/dev/null | wc -l)
        timeouts=$(find "$FUZZ/artifacts/$t" -type f -name 'timeout-*' 2>/dev/null | wc -l)
        secs=$(cat "$LOGS/$t.seconds" 2>/dev/null || echo -)
        printf '%-18s %12s %8s %8s %8s %8s %9s %6s\n' "$t" "${execs:--}" "${cov:--}" "${ft:--}" \
            "$corpus" "$crashes" "$timeouts" "$secs"
    done
    echo
    echo "logs: $LOGS/<target>.log; findings: $FUZZ/artifacts/<target>/"
}

build_seeds
echo "== building the fuzz targets"
(cd "$FUZZ" && cargo fuzz build)
BIN=$FUZZ/target/$(rustc -vV | sed -n 's/^host: //p')/release

echo "== running ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, two at a time"
i=0
while [[ $i -lt ${#TARGETS[@]} ]]; do
    pids=()
    for t in "${TARGETS[@]:$i:2}"; do
        echo "   $t"
        (cd "$FUZZ" && run_one "$t") &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    i=$((i + 2))
done
report
