#!/usr/bin/env bash
# The suite's own health, printed at the end of make check: the slowest
# tests, and every test that needed more than half of its time limit (the
# limits of .config/nextest.toml: slow-timeout period × terminate-after).
# Reads nextest's JUnit report; prints nothing if there is none.
set -euo pipefail
junit=${1:-target/nextest/default/junit.xml}
[ -f "$junit" ] || exit 0
awk '
    /<testcase / {
        name = $0; sub(/.* name="/, "", name); sub(/".*/, "", name)
        binary = $0; sub(/.* classname="/, "", binary); sub(/".*/, "", binary)
        time = $0; sub(/.* time="/, "", time); sub(/".*/, "", time)
        limit = 300
        if (binary ~ /::(cluster|cluster_failures|cluster_stacks|package|executor)$/) limit = 360
        if (binary ~ /::crash_points$/) limit = 600
        if (binary ~ /::differential$/) limit = 840
        printf "%.1f %d %s %s\n", time, limit, binary, name
    }
' "$junit" | sort -rn >"$junit.times"
echo "Slowest tests (seconds, of the time limit):"
head -n 8 "$junit.times" | awk '{ printf "  %7.1f of %3d  %s %s\n", $1, $2, $3, $4 }'
awk '$1 > $2 / 2 { printf "  NEAR THE LIMIT: %s %s took %.1f s of %d\n", $3, $4, $1, $2; n++ }
     END { if (!n) print "  no test needed more than half of its time limit" }' "$junit.times"
