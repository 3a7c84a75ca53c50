# The client's outage around a failover, from `ping -D` output: the longest
# time between two replies of which the second came after the failover began
# (t0, in ms since the epoch). Gaps before it (the ping starting, an earlier
# hiccup) are not the failover's.
# Usage: awk -v t0=MS -f failover-gap.awk ping.log
# Prints: REPLIES GAP_MS LAST_BEFORE_MS NEXT_MS (the last two relative to t0).
/bytes from/ {
    t = substr($1, 2, length($1) - 2) * 1000
    if (last != "" && t >= t0 && t - last > gap) { gap = t - last; before = last; after = t }
    last = t
    n++
}
END {
    if (gap == "") { printf "%d 0 0 0\n", n; exit }
    printf "%d %.0f %+.0f %+.0f\n", n, gap, before - t0, after - t0
}
