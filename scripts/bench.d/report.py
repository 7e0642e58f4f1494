# SPDX-License-Identifier: ISC
"""Print scripts/bench's results as markdown tables.

usage: report.py RESULTS

RESULTS holds one line per measurement: "SCENARIO TARGET key=value ...",
written by scripts/bench.  Times in it are microseconds, CPU in clock-tick
seconds, memory in KiB.  Ratios are to "direct" (the client on the mock
itself) and to "nginx"; a missing measurement prints as "-".
"""

import os
import sys

TARGETS = ["direct", "nginx", "llmproxyd", "llmproxyd-limits",
           "llmproxyd-models", "llmproxyd-shared", "base"]
LABEL = {
    "direct": "direct (client -> mock)",
    "nginx": "nginx 1 worker",
    "llmproxyd": "llmproxyd, limits off",
    "llmproxyd-limits": "llmproxyd, every limiter on",
    "llmproxyd-models": "llmproxyd, limiters on, two model groups",
    "llmproxyd-shared": "llmproxyd, limiters on, shared in Redis",
    "base": "llmproxyd @ %s, limits off" % os.environ.get("BENCH_BASE", "base"),
}


def vs_base(cpu, extra=""):
    """Print the A/B line: this tree's daemon against --base."""
    if cpu.get("base") and cpu.get("llmproxyd"):
        print("A/B: CPU per unit, llmproxyd ÷ base = %s%s\n"
              % (ratio(cpu["llmproxyd"], cpu["base"]), extra))


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            kv = {}
            for p in parts[2:]:
                k, _, v = p.partition("=")
                try:
                    kv[k] = float(v)
                except ValueError:
                    kv[k] = v
            res.setdefault(parts[0], {})[parts[1]] = kv
    return res


def num(v, fmt="%.2f"):
    return "-" if v is None else fmt % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def ms(kv, k):
    v = kv.get(k)
    return None if v is None else v / 1000.0


def per10k(kv, cpu, n):
    c, m = kv.get(cpu), kv.get(n)
    if c is None or not m:
        return None
    return c / m * 10000


def scen_a(data):
    print("### A: non-streaming, closed loop (wrk, 64 keep-alive "
          "connections)\n")
    cpu = {t: per10k(kv, "cpu_s", "requests") for t, kv in data.items()}
    rows = []
    for t in TARGETS:
        if t not in data:
            continue
        kv = data[t]
        rows.append([LABEL[t], num(kv.get("rps"), "%.0f"),
                     num(ms(kv, "p50_us"), "%.3f"),
                     num(ms(kv, "p99_us"), "%.3f"),
                     num(cpu[t], "%.3f"),
                     num(kv.get("hwm_kb", 0) / 1024, "%.1f")
                     if "hwm_kb" in kv else "-",
                     ratio(kv.get("rps"), data.get("direct", {}).get("rps")),
                     ratio(cpu[t], cpu.get("nginx")),
                     num(kv.get("errors"), "%.0f")])
    table(["target", "req/s", "p50 ms", "p99 ms", "CPU-s/10k req",
           "peak RSS MiB", "req/s ÷ direct", "CPU ÷ nginx", "errors"], rows)
    if "llmproxyd" in cpu and "llmproxyd-limits" in cpu:
        print("limits on ÷ limits off, CPU per request: %s (target <= 1.1); "
              "limits off ÷ nginx: %s (target <= 2, aim 1.25)\n"
              % (ratio(cpu["llmproxyd-limits"], cpu["llmproxyd"]),
                 ratio(cpu["llmproxyd"], cpu.get("nginx"))))
    if "llmproxyd-limits" in cpu and "llmproxyd-models" in cpu:
        print("two model groups ÷ limits on, CPU per request: %s "
              "(target <= 1.1)\n" % ratio(cpu["llmproxyd-models"],
                                          cpu["llmproxyd-limits"]))
    if "llmproxyd-shared" in data:
        print("limits shared in Redis: %s admissions/s one daemon "
              "sustains (target >= 5000); CPU per request ÷ local limits: "
              "%s\n" % (num(data["llmproxyd-shared"].get("rps"), "%.0f"),
                        ratio(cpu["llmproxyd-shared"],
                              cpu.get("llmproxyd-limits"))))
    vs_base(cpu, "; req/s llmproxyd ÷ base = %s" % ratio(
        data.get("llmproxyd", {}).get("rps"),
        data.get("base", {}).get("rps")))


def scen_b(name, data):
    any_kv = next(iter(data.values()))
    print("### %s: %d concurrent SSE streams, %d chunks %d ms apart, "
          "%d in turn per kept-alive connection\n"
          % (name, any_kv.get("n", 0), any_kv.get("chunks", 0),
             any_kv.get("interval_ms", 0), any_kv.get("per_conn", 1)))
    direct = data.get("direct", {})
    nginx = data.get("nginx", {})
    dgap = ms(direct, "gap_p99")
    cpu = {t: per10k(kv, "cpu_s", "events") for t, kv in data.items()}
    rows = []
    for t in TARGETS:
        if t not in data:
            continue
        kv = data[t]
        gap = ms(kv, "gap_p99")
        added = None if gap is None or dgap is None else gap - dgap
        perstream = None
        if "hwm_kb" in kv and "idle_kb" in kv and kv.get("n"):
            perstream = (kv["hwm_kb"] - kv["idle_kb"]) / kv["n"]
        ngap = ms(nginx, "gap_p99")
        vs_nginx = None
        if gap is not None and ngap is not None and t != "nginx":
            vs_nginx = gap - ngap
        rows.append([LABEL[t],
                     "%d/%d" % (kv.get("intact", 0),
                                kv.get("n", 0) * kv.get("per_conn", 1)),
                     num(ms(kv, "ttfb_p50"), "%.2f"),
                     num(ms(kv, "ttfb_p99"), "%.2f"),
                     num(gap, "%.2f"), num(added, "%+.2f"),
                     num(vs_nginx, "%+.2f"),
                     num(cpu[t], "%.3f"),
                     num(kv["hwm_kb"] / 1024, "%.1f")
                     if "hwm_kb" in kv else "-",
                     num(perstream, "%.1f"),
                     ratio(cpu[t], cpu.get("nginx"))])
    table(["target", "intact", "TTFB p50 ms", "TTFB p99 ms", "gap p99 ms",
           "gap p99 over direct", "gap p99 over nginx", "CPU-s/10k chunks",
           "peak RSS MiB", "KiB/stream", "CPU ÷ nginx"], rows)
    vs_base(cpu)


def scen_c(data):
    any_kv = next(iter(data.values()))
    print("### C: open loop, %d req/s for %d s (latency from the scheduled "
          "send)\n" % (any_kv.get("rate", 0), any_kv.get("duration", 0)))
    direct = data.get("direct", {})
    rows = []
    cpus = {}
    for t in TARGETS:
        if t not in data:
            continue
        kv = data[t]
        cells = [LABEL[t], "%d/%d" % (kv.get("ok", 0),
                                      kv.get("scheduled", 0))]
        for k in ("lat_p50", "lat_p99", "lat_p999"):
            cells.append(num(ms(kv, k), "%.3f"))
        for k in ("lat_p50", "lat_p99", "lat_p999"):
            a, d = ms(kv, k), ms(direct, k)
            cells.append(num(None if a is None or d is None else a - d,
                             "%+.3f"))
        cpu = per10k(kv, "cpu_s", "ok")
        cells.append(num(cpu, "%.3f"))
        rows.append(cells)
        cpus[t] = cpu
    table(["target", "ok/scheduled", "p50 ms", "p99 ms", "p99.9 ms",
           "+p50 over direct", "+p99 over direct", "+p99.9 over direct",
           "CPU-s/10k req"], rows)
    shared, local = data.get("llmproxyd-shared"), data.get("llmproxyd-limits")
    if shared and local:
        a, b = ms(shared, "lat_p50"), ms(local, "lat_p50")
        print("limits shared in Redis, added p50 over local limits: %s ms "
              "(target <= 0.3)\n" % num(None if a is None or b is None
                                        else a - b, "%+.3f"))
    vs_base(cpus)


def scen_q(data):
    print("### Q: requests queued behind max_concurrent = 1 "
          "(llmproxyd, fast mock)\n")
    rows = []
    base = None
    for name in sorted(data, key=lambda k: int(k)):
        kv = data[name]
        per = None
        if kv.get("ok"):
            per = kv["cpu_s"] / kv["ok"] * 1e6
        if base is None:
            base = per
        rows.append([name, "%d/%d" % (kv.get("ok", 0), kv.get("n", 0)),
                     num(kv.get("max_queued"), "%.0f"),
                     num(kv.get("cpu_s"), "%.2f"), num(per, "%.1f"),
                     ratio(per, base)])
    table(["queued", "ok/sent", "max queued seen", "CPU-s",
           "CPU µs/request", "÷ first row (target <= 1.2)"], rows)


def scen_i(data):
    print("### Idle memory and start-up\n")
    rows = []
    for t in TARGETS:
        if t not in data:
            continue
        kv = data[t]
        rows.append([LABEL[t], num(kv.get("ready_ms"), "%.1f"),
                     num(kv.get("rssanon_kb", 0) / 1024, "%.2f")
                     if "rssanon_kb" in kv else "-",
                     num(kv.get("vmrss_kb", 0) / 1024, "%.2f")
                     if "vmrss_kb" in kv else "-"])
    table(["target", "start to ready ms", "RssAnon MiB", "VmRSS MiB"], rows)


def main(path):
    res = load(path)
    for name in res:
        if name == "A":
            scen_a(res[name])
        elif name.startswith("B"):
            scen_b(name, res[name])
        elif name == "C":
            scen_c(res[name])
        elif name == "Q":
            scen_q(res[name])
        elif name == "I":
            scen_i(res[name])


if __name__ == "__main__":
    main(sys.argv[1])
