#!/usr/bin/env python3
"""Where one process's threads wait: off-CPU time by the kernel function they slept in.

    perf record -e sched:sched_switch -g -a -o DATA -- sleep 4
    perf script -i DATA -F comm,pid,tid,cpu,time,event,trace,ip,sym | offcpu_report.py PID

A thread of PID that switches out in any state but runnable is off the CPU until it is next
switched in; that time is added to the first frames of its kernel stack below the scheduler
(for example `request_wait_answer < __fuse_simple_request < fuse_fsync_common`: waiting for a
FUSE FSYNC reply). Prints the total and the 15 largest, with counts and mean wait.
"""
import collections
import re
import sys

SWITCH = re.compile(
    r"\s(\d+)/(\d+)\s+\[\d+\]\s+([\d.]+):\s+sched:sched_switch: .*?prev_pid=(\d+) "
    r"prev_prio=\d+ prev_state=(\S+) ==> .*?next_pid=(\d+)")
SCHEDULER = {"__schedule", "schedule", "schedule_timeout", "io_schedule",
             "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
             "__traceiter_sched_switch", "__sched_text_start"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: perf script ... | offcpu_report.py PID")
    pid = sys.argv[1]
    asleep = {}  # tid -> (time it switched out, wait site)
    seconds = collections.Counter()
    count = collections.Counter()

    def event(header, frames):
        m = SWITCH.search(header)
        if not m:
            return
        proc, t, prev, state, nxt = m.group(1), float(m.group(3)), m.group(4), m.group(5), m.group(6)
        if nxt in asleep:
            t0, site = asleep.pop(nxt)
            seconds[site] += t - t0
            count[site] += 1
        if proc == pid and not state.startswith("R"):
            names = [f.split()[1] for f in frames if len(f.split()) > 1]
            site = " < ".join([n for n in names if n not in SCHEDULER and n != "[unknown]"][:4])
            asleep[prev] = (t, site or "(no kernel stack)")

    header, frames = None, []
    for line in sys.stdin:
        if "sched:sched_switch" in line:
            if header:
                event(header, frames)
            header, frames = line, []
        elif line.strip() and header:
            frames.append(line.strip())
    if header:
        event(header, frames)
    total = sum(seconds.values())
    if total == 0:
        sys.exit(f"no off-CPU time of pid {pid} in the input (wrong pid, or perf saw no switches)")
    print(f"off-CPU time of pid {pid}'s threads: {total:.2f} thread-seconds")
    print("| seconds | share | waits | mean µs | where (kernel stack, innermost first) |")
    print("|---|---|---|---|---|")
    for site, s in seconds.most_common(15):
        print(f"| {s:.3f} | {s / total * 100:.1f} % | {count[site]} | "
              f"{s / count[site] * 1e6:.0f} | `{site}` |")


if __name__ == "__main__":
    main()
