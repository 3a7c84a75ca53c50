#!/usr/bin/env bash
# The total of the crash-point enumeration (tests/crash_points.rs), printed
# at the end of make check: each mode's test leaves its count in DIR.
set -euo pipefail
dir=${1:?the directory the crash-point tests write their counts in}
[ -d "$dir" ] || exit 0
# A mode's depth-two half (NAME--depth-two) is the same mode.
modes=$(find "$dir" -type f -printf '%f\n' | sed 's/--depth-two$//' | sort -u | wc -l)
[ "$modes" -gt 0 ] || exit 0
total=$(cat "$dir"/* | awk '{ n += $1 } END { print n }')
echo "Crash points: $total in $modes modes, all converge (tests/crash_points.rs)"
