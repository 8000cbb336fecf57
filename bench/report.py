#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into numbers and the Markdown report.

  report.py latencies H2LOAD_LOG   percentiles of h2load's --log-file, as JSON
  report.py render RESULTS_DIR     the report, on stdout
"""

import datetime
import json
import os
import pathlib
import re
import statistics
import sys


# --- Small helpers -------------------------------------------------------------


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(p / 100.0 * len(sorted_values) + 0.999999)))
    return sorted_values[rank - 1]


def key_values(path):
    """key=value pairs, several per line allowed; one dict per line."""
    rows = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.strip():
            rows.append(dict(field.split("=", 1) for field in line.split(" ") if "=" in field))
    return rows


def machine_info(path):
    info = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            info[key] = value
    return info


def fmt_share(fraction):
    return "n/a" if fraction != fraction else f"{fraction * 100:.0f} %"


def fmt_int(n):
    return f"{int(round(n)):,}"


def fmt_ms(ms):
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 10:
        return f"{ms:.2f} ms"
    return f"{ms:.1f} ms"


def fmt_ns(ns):
    return f"{ns:,.0f} ns" if ns >= 100 else f"{ns:.1f} ns"


def fmt_s(ms):
    return f"{ms / 1000:.2f} s"


def verdict(ok):
    return "met" if ok else "**missed**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- h2load ----------------------------------------------------------------------


def latencies(log_path):
    """h2load --log-file: start time (µs), status, duration (µs), tab-separated."""
    values = []
    with open(log_path) as f:
        for line in f:
            fields = line.split("\t")
            if len(fields) >= 3:
                values.append(int(fields[2]) / 1000.0)
    values.sort()
    return {
        "count": len(values),
        "p50_ms": percentile(values, 50),
        "p90_ms": percentile(values, 90),
        "p99_ms": percentile(values, 99),
        "max_ms": values[-1] if values else float("nan"),
    }


def parse_cpu(path, rps):
    """bench/run.sh's two cpu_sample lines (on one line): the server's CPU
    time per request, and the share of its core that other processes took."""
    server0, core0, ns0, client0, server1, core1, ns1, client1 = (
        int(v) for v in pathlib.Path(path).read_text().split())
    tick = 0.01  # USER_HZ
    wall = (ns1 - ns0) / 1e9
    server = (server1 - server0) * tick
    core = (core1 - core0) * tick
    return {
        "cpu_us_per_request": server / (rps * wall) * 1e6 if rps > 0 else float("nan"),
        "server_core_share": server / wall,
        "others_core_share": max(0.0, core - server) / wall,
        # -1: h2load had already exited at the second sample.
        "client_share": (client1 - client0) * tick / wall if min(client0, client1) >= 0 else float("nan"),
    }


# --- perf ------------------------------------------------------------------------

PERF_LINE = re.compile(r"^\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$")


def perf_entries(path):
    """(children %, self %, kernel?, symbol) of `perf report --children -g none`."""
    entries = []
    for line in pathlib.Path(path).read_text().splitlines():
        m = PERF_LINE.match(line)
        if m:
            entries.append((float(m.group(1)), float(m.group(2)), m.group(3) == "k", m.group(4)))
    return entries


def perf_share(entries, pattern):
    """Inclusive share of the first function matching `pattern` (0 if none)."""
    for children, _, _, symbol in entries:
        if re.search(pattern, symbol):
            return children
    return 0.0


def short_symbol(symbol):
    symbol = re.sub(r"absl::debian\d+::", "absl::", symbol)
    symbol = re.sub(r"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
                    "std::string", symbol)
    if len(symbol) > 90:
        symbol = symbol[:87] + "..."
    return symbol.replace("|", "\\|")


def prometheus(path):
    """Prometheus text format -> {"name{labels}": value}; None without a file."""
    path = pathlib.Path(path)
    if not path.exists():
        return None
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


def parse_h2load(path):
    text = pathlib.Path(path).read_text()
    rps = float(re.search(r"finished in [0-9.]+m?s, ([0-9.]+) req/s", text).group(1))
    requests = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout", text)
    return {
        "rps": rps,
        "done": int(requests.group(3)),
        "succeeded": int(requests.group(4)),
        "failed": int(requests.group(5)) + int(requests.group(6)) + int(requests.group(7)),
    }


# --- The fleet stage ---------------------------------------------------------------

BENCH_DIR = pathlib.Path(__file__).resolve().parent

# "Independent of N": token-service's peak threads may differ by this many
# between N = 10 and N = 200 (gRPC starts a few threads of its own as load
# comes and goes).
FLEET_THREADS_SLACK = 8


def fleet_file(path):
    """bench/run.sh's fleet results of one design: the header (key=value
    lines) and {(consumers, tokens loaded): {phase: {key: value}}}."""
    meta, runs = {}, {}
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("phase="):
            row = dict(field.split("=", 1) for field in line.split(" ") if "=" in field)
            runs.setdefault((int(row["consumers"]), int(row["loaded"])), {})[row["phase"]] = row
        elif "=" in line:
            key, value = line.split("=", 1)
            meta[key] = value
    return meta, runs


def num(row, key):
    """A measured number of a result line; None when absent or NA."""
    value = (row or {}).get(key, "NA")
    return None if value == "NA" else float(value)


# --- The report ------------------------------------------------------------------


class Report:
    def __init__(self, results):
        self.dir = pathlib.Path(results)
        self.m = machine_info(self.dir / "machine.txt")
        self.quick = self.m["mode"] == "quick"
        self.summary = []  # (what, measured, target, met)
        self.sections = []

    def json(self, name):
        return json.loads((self.dir / name).read_text())

    def add(self, text):
        self.sections.append(text.strip("\n"))

    # Each benchmark: a section, and its line(s) in the summary.

    def check(self):
        m = self.m
        servers = ["sidecar", "empty", "naive"]
        names = {"sidecar": "token-sidecar", "empty": "bench-empty-authz",
                 "naive": "bench-naive-authz"}
        rounds = int(m["load_rounds"])
        runs = {s: [] for s in servers}
        for r in range(1, rounds + 1):
            for s in servers:
                run = parse_h2load(self.dir / f"h2load-{s}-{r}.txt")
                run.update(json.loads((self.dir / f"h2load-{s}-{r}.lat.json").read_text()))
                run.update(parse_cpu(self.dir / f"h2load-{s}-{r}.cpu", run["rps"]))
                runs[s].append(run)
        med = {s: statistics.median(r["rps"] for r in runs[s]) for s in servers}
        cpu = {s: statistics.median(r["cpu_us_per_request"] for r in runs[s]) for s in servers}
        # Round by round: the sidecar's run against the empty service's run
        # of the same round (back to back, each first in turn), so that a
        # slow spell of the shared machine weighs on both sides of a ratio.
        pairs = list(zip(runs["sidecar"], runs["empty"]))
        rps_ratios = [a["rps"] / b["rps"] for a, b in pairs]
        cpu_ratios = [b["cpu_us_per_request"] / a["cpu_us_per_request"] for a, b in pairs]
        ratio = statistics.median(rps_ratios)
        cpu_ratio = statistics.median(cpu_ratios)
        round_ratios = ", ".join(f"{r:.2f}" for r in rps_ratios)
        round_cpu_ratios = ", ".join(f"{r:.2f}" for r in cpu_ratios)
        gain = med["sidecar"] / med["naive"]
        # Both must hold: on a shared machine one run's requests/s can be
        # flattered by what else happened to run on the core meanwhile.
        ceiling_ok = ratio >= 0.9 and cpu_ratio >= 0.9
        self.summary.append((
            "Sidecar `Check` throughput vs an empty gRPC C++ service (h2load, same load)",
            f"{ratio:.2f} in requests/s, {cpu_ratio:.2f} in server CPU per request (medians of "
            f"{rounds} paired rounds; medians of the runs: {fmt_int(med['sidecar'])} vs "
            f"{fmt_int(med['empty'])} requests/s, {cpu['sidecar']:.1f} vs {cpu['empty']:.1f} µs)",
            "≥ 0.90", ceiling_ok))
        self.summary.append((
            "Cache vs one PostgreSQL query per check (naive baseline)",
            f"{gain:.1f}× ({fmt_int(med['sidecar'])} vs {fmt_int(med['naive'])} req/s)",
            "(no target)", None))

        rows = []
        for r in range(rounds):
            for s in servers:
                run = runs[s][r]
                rows.append([r + 1, names[s], fmt_int(run["rps"]), fmt_ms(run["p50_ms"]),
                             fmt_ms(run["p99_ms"]), f"{run['cpu_us_per_request']:.1f} µs",
                             f"{run['server_core_share'] * 100:.0f} %",
                             f"{run['others_core_share'] * 100:.0f} %",
                             fmt_share(run["client_share"]), fmt_int(run["succeeded"]),
                             run["failed"]])
        others = [r["others_core_share"] for s in ("sidecar", "empty") for r in runs[s]]
        busy_note = ""
        if max(others) > 0.15:
            busy_note = (
                f"Other processes took {min(others) * 100:.0f}–{max(others) * 100:.0f} % of the "
                "server's core during the sidecar's and the empty\nservice's runs (see \"others on "
                "the core\"; the machine was shared with other work).\nThat lowers requests/s; the "
                "CPU time per request is much less affected.\n")
        med_rows = []
        for s in servers:
            med_rows.append([names[s], fmt_int(med[s]),
                             fmt_ms(statistics.median(r["p50_ms"] for r in runs[s])),
                             fmt_ms(statistics.median(r["p99_ms"] for r in runs[s])),
                             f"{cpu[s]:.1f} µs"])
        body = self.json("check-body.json")
        verify = self.json("verify-sidecar.json")
        pinning = (f"The servers ran on CPU {m['server_cpu']} and h2load on CPU {m['client_cpu']}\n"
                   "(`taskset -c`), so that the load generator does not take the server's\n"
                   "core (unpinned, the numbers varied much more from run to run);\n"
                   "PostgreSQL, token-service and idle sidecars were not pinned."
                   if m.get("server_cpu") else "There was one CPU: nothing was pinned.")
        streams = int(m["h2_clients"]) * int(m["h2_streams"])
        self.add(f"""
## Check: the sidecar against an empty service and a naive one

Envoy's `envoy.service.auth.v3.Authorization/Check` with a realistic
`CheckRequest` ({body['headers']} request headers including a valid bearer
token, source and destination addresses; {body['body_bytes']} bytes framed),
sent by h2load to three servers built by the same Release build and run by the
same server code (`tokens::ServeUntilStopped`), all on gRPC's callback API,
each parsing the request with the same generated `CheckRequest` parser onto a
protobuf arena that is part of the call (the empty service through gRPC's
typed method and a message allocator, the sidecar through the method's raw
bytes, so that it can write its allowing answer straight to bytes):

- **token-sidecar**, default flags, {fmt_int(int(m['cached_tokens']) + int(m['create_count']))} tokens cached;
- **bench-empty-authz** (`bench/empty_authz_server.cc`): the same method
  answering an OK `CheckResponse` without looking at the request: the ceiling;
- **bench-naive-authz** (`bench/naive_authz_server.cc`): the sidecar's own
  `ExtAuthzService`, bearer parsing and token codec, but each check looks the
  token up in PostgreSQL (token-service's authentication query on the unique
  index of `tokens.token_hash`, a prepared statement on a connection per lookup
  thread, 16 of them): what the cache saves.

Before the load a real gRPC client (`bench-client verify-check`) sent the same
body to each server and required gRPC status 0, `status.code` 0 and an
`ok_response` (the sidecar's carried {verify['ok_headers']} identity headers);
it did again after the load. h2load must report 0 failed, errored and timed-out
requests and only 2xx answers, or the run fails.

{pinning}
Each run: {m['load_seconds']} s measured after {m['warmup_seconds']} s of warm-up, {m['h2_clients']} connections × {m['h2_streams']} concurrent streams
({streams} requests in flight). {rounds} round(s) of the sidecar and the empty service back to
back, going first in turn, then {rounds} run(s) of the naive server (which loads
PostgreSQL on both cores, so it comes after the comparison that matters).
Latency percentiles come from h2load's per-request log.

```sh
h2load -t 1 -c {m['h2_clients']} -m {m['h2_streams']} -D {m['load_seconds']} --warm-up-time={m['warmup_seconds']} \\
  -d check.bin -H 'content-type: application/grpc' -H 'te: trailers' \\
  --log-file=requests.log http://127.0.0.1:PORT/envoy.service.auth.v3.Authorization/Check
```

`check.bin` is one byte 0 (not compressed), the message length as 4 bytes
big-endian, then the serialized `CheckRequest` (`bench-client check-body`).

"Server CPU / request" is the server process's own CPU time (user + system,
all threads, from `/proc/PID/stat`) over the measured part of the run divided
by the requests it answered: unlike requests/s it does not depend on what else
ran on the server's core. The per-run table also shows how the server's core
was shared ("others on the core": its busy time that was not the server's,
i.e. other work on this machine, and for the naive server its PostgreSQL
backends, which its CPU column leaves out) and how busy h2load was: a run is
limited by the server only when the server core is full and h2load is not.
Requests/s compares the servers' capacity only then; CPU time per request
compares it always (capacity = one core / CPU time per request).

{busy_note}
Medians over the rounds:

{table(["server", "requests/s", "p50", "p99", "server CPU / request"], med_rows)}

**Ratio sidecar / empty: {ratio:.2f} in requests/s, {cpu_ratio:.2f} in CPU
time per request**, the medians of the rounds' ratios (target ≥ 0.90,
counted as met only when both are: {verdict(ceiling_ok)}). Round by round:
{round_ratios} in requests/s; {round_cpu_ratios} in CPU time per request.
**Sidecar / naive: {gain:.1f}×.**

Every run:

{table(["round", "server", "requests/s", "p50", "p99", "server CPU / request", "server's share of its core", "others on the core", "h2load's share of its core", "succeeded", "failed"], rows)}
""")
        self.check_profile(cpu)

    def check_profile(self, cpu):
        path = self.dir / "profile-check.txt"
        if not path.exists():
            return
        e = perf_entries(path)
        cpu_file = self.dir / "h2load-sidecar-profile.cpu"
        run = parse_h2load(self.dir / "h2load-sidecar-profile.txt")
        share = parse_cpu(cpu_file, run["rps"])
        rows = []
        for label, pattern in (
                ("gRPC's handling of a Check call (parse, handler, send)",
                 r"CallbackRequest<grpc::CallbackServerContext>::CallbackCallTag::Run$"),
                ("  `ExtAuthzService::Check` (the sidecar's handler)", r"ExtAuthzService::Check$"),
                ("    parsing the CheckRequest", r"envoy::service::auth::v3::CheckRequest::_InternalParse$"),
                ("    `FindAuthorization`", r"sidecar::FindAuthorization"),
                ("    `Verifier::CheckHeaderNow`", r"Verifier::CheckHeaderNow"),
                ("      `TokenCodec::Validate` (format, CRC32)", r"TokenCodec::Validate"),
                ("      `TokenCodec::Hash` (SHA-256)", r"TokenCodec::Hash"),
                ("      `TokenCache::Find`", r"TokenCache::Find"),
                ("      `UsageRecorder::Record`", r"UsageRecorder::Record"),
                ("    `ExtAuthzService::Answer` (writing the answer's bytes, metrics)",
                 r"ExtAuthzService::Answer$"),
                ("freeing a finished call (gRPC's side)",
                 r"CallbackUnaryHandler<.*>::ServerCallbackUnaryImpl::CallOnDone$"),
                ("gRPC's executor threads (work handed off between threads)",
                 r"grpc_core::Executor::ThreadMain$"),
                ("the feed's thread (`SyncClient`) running gRPC's event loop", r"SyncClient::RunStream$"),
                ("`EVP_MD_fetch` (OpenSSL's algorithm lookup, inside SHA-256)", r"^EVP_MD_fetch$"),
                ("absl deadlock detection (`GraphCycles`, every absl::Mutex)", r"GraphCycles::"),
                ("malloc", r"^(__GI___libc_malloc|malloc)"),
                ("free", r"^(__GI___libc_free|cfree)"),
                ("the kernel's TCP send path (`tcp_sendmsg`)", r"^tcp_sendmsg$")):
            value = perf_share(e, pattern)
            if ("EVP_MD_fetch" in label or "SyncClient" in label) and value < 0.1:
                continue  # fixed: the codec fetches SHA-256 once; the feed reads by callback
            rows.append([label.replace("  ", "&nbsp;&nbsp;"), f"{value:.1f} %"])
        top = sorted(e, key=lambda x: -x[1])[:12]
        top_rows = [[f"`{short_symbol(sym)}`", "kernel" if k else "user", f"{own:.1f} %"]
                    for _, own, k, sym in top]
        fetch = perf_share(e, r"^EVP_MD_fetch$")
        hash_ = perf_share(e, r"TokenCodec::Hash")
        mine = perf_share(e, r"ExtAuthzService::Check$")
        handler_us = mine / 100 * 1e6 / run["rps"]
        answer = perf_share(e, r"ExtAuthzService::Answer$")
        core = {b["name"]: b for b in self.json("core.json")["benchmarks"]}
        hot_verify_us = core["BM_Verifier/tokens:1000"]["cpu_time"] / 1000.0
        fetch_note = ""
        if fetch >= 0.3:
            fetch_note = (f" {fetch:.1f} % is `EVP_MD_fetch`: OpenSSL 3 looks the SHA-256 "
                          "implementation up in its provider store (locks, reference counts) "
                          "on every `EVP_Digest(..., EVP_sha256(), ...)` call.")
        self.add(f"""
### Profile: the sidecar's core under the Check load

perf sampled the server core (`perf record -e cpu-clock -F 499 -a -C
{self.m['server_cpu']} --call-graph dwarf`) for {self.m['profile_seconds']} s of one more h2load run
against the sidecar ({fmt_int(run['rps'])} requests/s; the sidecar took
{share['server_core_share'] * 100:.0f} % of the core, other processes
{share['others_core_share'] * 100:.0f} %). Share of the core's samples spent in
each function and what it calls (from sampled call stacks, which perf cannot
always unwind completely, so a caller can show a little less than what it
calls; `TokenCache::Find` is nearly free here because every request carries
the same token):

{table(["function", "share of the core"], rows)}

Functions where the most samples landed (own time):

{table(["function", "", "own share"], top_rows)}

What it shows: the sidecar's own handler (`ExtAuthzService::Check`: parsing
the request, which gRPC does for the empty service, then finding the header,
verifying the token and writing the answer) is {mine:.1f} % of the core, about
{handler_us:.1f} µs a Check at this rate; writing the answer straight to bytes
(`AllowBytes`) and recording metrics is {answer:.1f} %. Its CPU time per request
is {cpu['sidecar']:.1f} µs against the empty service's {cpu['empty']:.1f} µs, i.e.
{cpu['sidecar'] - cpu['empty']:.1f} µs more per Check: the handler's work beyond parsing, then gRPC
and the kernel sending a larger answer (four identity headers, two headers to
remove and one for the client, where the empty service answers an empty `ok_response`). The verification itself is about
{hot_verify_us:.1f} µs (`bench-core`'s `BM_Verifier` with the token in the CPU
caches, below); SHA-256 is {hash_:.1f} % of the core.{fetch_note}
""")

    def core_profile(self, by_name):
        path = self.dir / "profile-core.txt"
        if not path.exists():
            return
        e = perf_entries(path)
        base = perf_share(e, r"BM_Verifier$") - perf_share(e, r"FixtureOf$")
        if base <= 0:
            return
        rows = []
        for label, pattern in (
                ("`Verifier::CheckHeader`", r"Verifier::CheckHeader"),
                ("  `ParseBearer`", r"tokens::ParseBearer"),
                ("  `TokenCodec::Validate` (format, CRC32)", r"TokenCodec::Validate"),
                ("    of which zlib's `crc32_z`", r"^crc32_z$"),
                ("  `TokenCodec::Hash` (SHA-256)", r"TokenCodec::Hash"),
                ("    of which `EVP_MD_fetch` (algorithm lookup)", r"^EVP_MD_fetch$"),
                ("  `TokenCache::Find`", r"TokenCache::Find"),
                ("  `Verifier::Decide` (expiry, owner, usage)", r"Verifier::Decide"),
                ("    `UsageRecorder::Record`", r"UsageRecorder::Record"),
                ("    `UtcDay` (the clock's date)", r"tokens::UtcDay")):
            share = perf_share(e, pattern) / base
            if "EVP_MD_fetch" in label and share < 0.01:
                continue  # the codec fetches SHA-256 once
            rows.append([label.replace("  ", "&nbsp;&nbsp;"), f"{share * 100:.0f} %"])
        b = by_name["BM_Verifier/tokens:1000000"]
        verifier_ns = b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        fetch = perf_share(e, r"^EVP_MD_fetch$") / base
        find = perf_share(e, r"TokenCache::Find") / base
        record = perf_share(e, r"UsageRecorder::Record") / base
        validate = perf_share(e, r"TokenCodec::Validate") / base
        hashing = perf_share(e, r"TokenCodec::Hash") / base
        if fetch >= 0.03:
            sha_note = (f"SHA-256 takes ~{hashing * verifier_ns:.0f} ns, of which "
                        f"`EVP_MD_fetch` alone is ~{fetch * verifier_ns:.0f} ns: OpenSSL 3 looks "
                        "SHA-256 up in its provider store on every call.")
        else:
            sha_note = f"SHA-256 takes ~{hashing * verifier_ns:.0f} ns."
        self.add(f"""
### Profile: one verification at 1,000,000 tokens

perf (`perf record -e cpu-clock --call-graph dwarf`) over `bench-core
--benchmark_filter='^BM_Verifier/tokens:1000000$'`; shares of the time spent
checking (building the fixture left out):

{table(["function", "share"], rows)}

What it shows, at {fmt_ns(verifier_ns)} a check: the cache lookup
(~{find * verifier_ns:.0f} ns) is a chain of dependent memory reads that miss
every CPU cache at this size (table slot → entry → the owner's slot; the
`memcmp` of the hash is where the entry's miss lands), so it costs main-memory
latency, not instructions. The format and CRC32 checks take
~{validate * verifier_ns:.0f} ns (zlib's `crc32_z` works bytewise on such a short
input). {sha_note} Recording usage (~{record * verifier_ns:.0f} ns), which the
target's four steps leave out, updates a per-thread hash map that holds every
token used since the last flush: another likely cache miss at this many
distinct tokens.
""")

    def core(self):
        data = self.json("core.json")
        by_name = {}
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            by_name[b["name"]] = b

        def ns(b):
            scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            return b["real_time"] * scale, b["cpu_time"] * scale

        rows = []
        for name, b in by_name.items():
            real, cpu = ns(b)
            rows.append([f"`{name}`", fmt_ns(cpu), fmt_int(b["iterations"])])
        headline = by_name.get("BM_Verifier/tokens:1000000")
        pieces = by_name.get("BM_ParseChecksumHashLookup/tokens:1000000")
        v_ns = ns(headline)[1]
        p_ns = ns(pieces)[1]
        self.summary.append((
            "Verification at 1,000,000 cached tokens: parse + checksum + hash + lookup",
            f"{fmt_ns(p_ns)} (whole `Verifier`: {fmt_ns(v_ns)})",
            "< 1 µs", p_ns < 1000))
        ctx = data.get("context", {})
        self.add(f"""
## Core: one verification inside the sidecar

Google Benchmark (`bench/core_benchmark.cc`, `bench-core`) over the sidecar's
real classes: `tokens::ParseBearer`, `TokenCodec::Validate` (prefix, length,
alphabet, CRC32), `TokenCodec::Hash` (SHA-256), `TokenCache::Find`, and the
whole `sidecar::Verifier::CheckHeader` (which also checks expiry and the
owner, and records usage). The cache holds 1,000 / 100,000 / 1,000,000 live
tokens (100 per user) loaded through its snapshot builder; each iteration
checks the next token of a shuffled list, so lookups at a million tokens miss
the CPU caches as real traffic would. CPU time per check:

{table(["benchmark", "CPU time / check", "iterations"], rows)}

**parse + checksum + hash + lookup at 1,000,000 tokens: {fmt_ns(p_ns)}; the
whole Verifier: {fmt_ns(v_ns)}** (target < 1 µs: {verdict(p_ns < 1000)}).
`threads:2` runs two checking threads at once (real time per check, both
cores busy). Google Benchmark reported {ctx.get('num_cpus', '?')} CPUs at
{ctx.get('mhz_per_cpu', '?')} MHz; Debian's libbenchmark is itself a debug
build, which does not affect the measured code.

```sh
bench-core --benchmark_min_time={self.m['core_min_time']} --benchmark_format=json
```
""")
        self.core_profile(by_name)

    def snapshot(self):
        m = self.m
        n = int(m["cached_tokens"])
        empty = key_values(self.dir / "snapshot-empty.txt")[0]
        rounds = key_values(self.dir / "snapshot.txt")
        load = key_values(self.dir / "load.txt")[0]
        ready = statistics.median(int(r["ready_ms"]) for r in rounds)
        rss = statistics.median(int(r["rss_kib"]) for r in rounds)
        hwm = statistics.median(int(r["hwm_kib"]) for r in rounds)
        empty_rss = int(empty["empty_rss_kib"])
        per_token = (rss - empty_rss) * 1024 / n
        per_token_peak = (hwm - empty_rss) * 1024 / n
        self.summary.append((
            f"Sidecar snapshot of {fmt_int(n)} tokens: start to ready",
            f"{ready / 1000:.2f} s", "< 5 s", ready < 5000))
        self.summary.append((
            "Memory per cached token (RSS after load − RSS with an empty snapshot) / N",
            f"{per_token:.0f} B (peak during load: {per_token_peak:.0f} B)", "< 200 B",
            per_token < 200))
        scopes_path = self.dir / "scopes-tokens.txt"
        scoped = int(key_values(scopes_path)[0]["scoped_tokens"]) if scopes_path.exists() else 0
        scopes_note = (f" {fmt_int(scoped)} of them have scopes (in turn: none, `things:read`, "
                       "`things:read things:write`), as tokens given scopes from a small "
                       "catalogue would." if scoped else
                       " None has scopes (this build's schema has none).")
        rows = []
        for r in rounds:
            metrics = prometheus(self.dir / f"snapshot-metrics-{r['round']}.txt") or {}
            own = metrics.get("token_sidecar_sync_last_snapshot_seconds")
            rows.append([r["round"], f"{int(r['ready_ms']) / 1000:.2f} s",
                         f"{own:.2f} s" if own is not None else "n/a",
                         f"{int(r['hwm_kib']) / 1024:.1f} MiB", f"{int(r['rss_kib']) / 1024:.1f} MiB"])
        self.add(f"""
## Snapshot: a sidecar loading {fmt_int(n)} tokens

{fmt_int(n)} tokens of {fmt_int(n // int(m['tokens_per_user']))} users were
bulk-loaded into the private PostgreSQL with `generate_series` (distinct
32-byte hashes `sha256('bench-load-' || i)`, expiries spread over 300 days;
{float(load['load_seconds']):.1f} s including `VACUUM ANALYZE`), with
token-service stopped so its change feed did not fan the rows out as a
delta.{scopes_note} Then a token-sidecar was started against token-service
(`SyncTokens` from version 0) and timed from the process start until it
wrote its ready file (`--ready_file`: the snapshot is loaded and health is
`SERVING`); peak RSS is `VmHWM` at that moment,
"after load" is `VmRSS` one second later. Where the sidecar serves metrics,
`token_sidecar_sync_last_snapshot_seconds` shows the part spent receiving and
building the snapshot. The baseline is a sidecar whose
snapshot was empty (only the bench's own service and admin tokens):
{empty_rss / 1024:.1f} MiB.

{table(["round", "start → ready", "snapshot (sidecar's metric)", "peak RSS (VmHWM)", "RSS after load"], rows)}

**Median {ready / 1000:.2f} s** (target < 5 s: {verdict(ready < 5000)});
**{per_token:.0f} bytes per cached token** after the load (target < 200 B:
{verdict(per_token < 200)}), {per_token_peak:.0f} B at the peak.
""")

    def propagation(self):
        p = self.json("propagation.json")
        every = p["every_sidecar_ms"]
        pair = p["each_pair_ms"]
        self.summary.append((
            f"Revocation seen by every connected sidecar ({p['sidecars']}), p99",
            f"{fmt_ms(every['p99'])} (p50 {fmt_ms(every['p50'])})", "< 100 ms",
            every["p99"] < 100))
        rows = [[f"sidecar {i + 1}", fmt_ms(s["p50"]), fmt_ms(s["p99"]), fmt_ms(s["max"])]
                for i, s in enumerate(p["per_sidecar_ms"])]
        rows.append(["every sidecar (the slowest of the three, per revocation)",
                     fmt_ms(every["p50"]), fmt_ms(every["p99"]), fmt_ms(every["max"])])
        rows.append(["any (token, sidecar) pair", fmt_ms(pair["p50"]), fmt_ms(pair["p99"]),
                     fmt_ms(pair["max"])])
        rv = p["revoke_rpc_ms"]
        self.add(f"""
## Propagation: RevokeToken → every sidecar denies

`bench-client propagation` created {fmt_int(p['revocations'])} tokens, waited until each of
{p['sidecars']} connected sidecars allowed every one of them (through
`tokens.v1.Authenticator/Authenticate`), then revoked them one at a time:
after each `RevokeToken` returned, one thread per sidecar called
`Authenticate` every {p['poll_interval_ms']:g} ms until it was denied, and
recorded the time from `RevokeToken` returning to the denying answer
arriving (so the numbers include up to one poll interval and one
`Authenticate` round trip).

{table(["", "p50", "p99", "max"], rows)}

**p99 until every sidecar denies: {fmt_ms(every['p99'])}** (target < 100 ms:
{verdict(every['p99'] < 100)}). `RevokeToken` itself took p50
{fmt_ms(rv['p50'])}, p99 {fmt_ms(rv['p99'])}.
""")

    def usage(self):
        m = self.m
        load = self.json("usage-load.json")
        statements = self.json("usage-statements.json")
        tokens_used = int((self.dir / "usage-tokens.txt").read_text().strip() or 0)
        usage_rows = [s for s in statements
                      if re.search(r"update\s+tokens\s+t\s+set\s+last_used_at", s["query"], re.I | re.S)]
        usage_calls = sum(s["calls"] for s in usage_rows)
        usage_written = sum(s["rows"] for s in usage_rows)
        other_calls = sum(s["calls"] for s in statements) - usage_calls
        flushes, flush_source, exact = self.usage_flushes()
        seconds = load["seconds"]
        per_flush_ok = usage_calls <= flushes
        self.summary.append((
            "last-used: SQL statements per usage flush",
            f"{usage_calls} UPDATE statements for {'' if exact else 'at most '}{flushes} flushes "
            f"and {fmt_int(load['checks'])} checks",
            "one per flush", per_flush_ok))
        self.summary.append((
            "Database statements on a cache hit",
            f"{other_calls} other statements in {seconds:.0f} s of {fmt_int(load['checks'])} checks "
            "(the change feed's poll and the usage flushes; none per check)",
            "zero per check", other_calls < load["checks"] / 100))
        rows = []
        for s in statements[:12]:
            query = " ".join(s["query"].split())
            if len(query) > 110:
                query = query[:107] + "..."
            rows.append([s["calls"], s["rows"], f"`{query}`"])
        self.add(f"""
## Write amplification of last-used

A sidecar with `--usage_flush_interval={m['usage_flush']}` served
`bench-client check-load`: {load['concurrency']} clients sending `Check`s for
{fmt_int(load['tokens'])} tokens round-robin for {seconds:.1f} s. The private PostgreSQL
runs with `shared_preload_libraries=pg_stat_statements`; its statistics were
reset just before the load and read 3 s after it (after the last flush).

| | |
|---|---|
| checks served (all allowed) | {fmt_int(load['checks'])} ({fmt_int(load['per_second'])}/s) |
| usage flushes that sent a batch | {flushes} ({flush_source}) |
| usage `UPDATE` statements | {usage_calls} |
| rows written by them | {fmt_int(usage_written)} |
| tokens with a last use afterwards | {fmt_int(tokens_used)} of {fmt_int(load['tokens'])} |
| every other statement in the window | {other_calls} |

**{usage_calls} statements for {'' if exact else 'at most '}{flushes} flushes**
(target: one statement per flush, however many checks: {verdict(per_flush_ok)}):
{fmt_int(load['checks'])} checks became {fmt_int(usage_written)} row writes,
{load['checks'] / max(usage_written, 1):.0f} checks per written row.

Every statement PostgreSQL ran in the window (pg_stat_statements), most
called first. Besides the usage `UPDATE`: token-service's change feed reads
the latest version every `--sync_poll_interval` (1 s) and, per
`ReportUsage` call, authenticates the sidecar's own token (the `SELECT
t.id::text, ...` by hash) in a transaction of its own (`BEGIN`/`COMMIT`). A
check answered from the cache runs nothing.

{table(["calls", "rows", "statement"], rows)}
""")

    def usage_flushes(self):
        """(flushes, how they were counted, exact?): the sidecar's count of
        usage batches sent, or token-service's of ReportUsage calls, when
        they serve metrics; otherwise the flush ticks the measured window
        could hold, an upper bound."""
        def delta(name, pattern, source):
            before = prometheus(self.dir / f"usage-{name}-metrics-before.txt")
            after = prometheus(self.dir / f"usage-{name}-metrics-after.txt")
            if before is None or after is None:
                return None
            keys = [k for k in after if re.search(pattern, k)]
            if not keys:
                return None
            return int(sum(after[k] - before.get(k, 0.0) for k in keys)), source, True
        counted = (delta("sidecar", r'^token_sidecar_usage_batches_total\{.*result="(sent|failed)"',
                         "usage batches the sidecar sent, from its metrics")
                   or delta("service", r'^grpc_server_handling_seconds_count\{.*grpc_method="ReportUsage"',
                            "ReportUsage calls, from token-service's metrics"))
        if counted:
            return counted
        window = key_values(self.dir / "usage-window.txt")[0]
        interval = float(self.m["usage_flush"].rstrip("s"))
        ticks = int(float(window["window_seconds"]) / interval) + 1
        return ticks, (f"at most: the flush ticks in the {float(window['window_seconds']):.1f} s "
                       "window; neither process served metrics to count them"), False

    def management(self):
        create = self.json("create.json")
        lst = self.json("list.json")
        n = int(self.m["cached_tokens"])
        first = lst["all_users"]["latency_ms"]
        worst = max(lst[k]["latency_ms"]["p99"] for k in ("all_users", "one_user", "all_users_active"))
        self.summary.append((
            f"`ListTokens` first page over {fmt_int(n)}+ tokens, p99",
            f"{fmt_ms(first['p99'])} (all users; worst of three queries {fmt_ms(worst)})",
            "< 10 ms", worst < 10))
        self.summary.append((
            f"`CreateToken` throughput, {create['concurrency']} concurrent clients",
            f"{fmt_int(create['per_second'])}/s (p99 {fmt_ms(create['latency_ms']['p99'])})",
            "(no target)", None))
        rows = []
        for key, what in (("all_users", "all users (`all_users: true`): Access Control → User Tokens"),
                          ("one_user", "one user (`user_id`), a profile page"),
                          ("all_users_active", "all users, `status: ACTIVE`")):
            lat = lst[key]["latency_ms"]
            rows.append([what, lst[key]["page"], fmt_ms(lat["p50"]), fmt_ms(lat["p99"]),
                         fmt_ms(lat["max"])])
        c = create["latency_ms"]
        pg_rows = []
        statements_path = self.dir / "list-statements.json"
        for st in (json.loads(statements_path.read_text()) if statements_path.exists() else []):
            query = " ".join(st["query"].split())
            if query.upper() in ("BEGIN", "COMMIT"):
                continue
            what = ("the list query (`kListTokens`)" if "ORDER BY t.created_at DESC" in query else
                    "authenticating the caller's token" if "WHERE t.token_hash" in query else
                    f"`{query[:60]}...`")
            pg_rows.append([what, fmt_int(st["calls"]), fmt_ms(st["mean_exec_time"]),
                            fmt_ms(st["max_exec_time"])])
        pg_table = ""
        if pg_rows:
            pg_table = ("\nPostgreSQL's own execution time for what these calls ran\n"
                        "(pg_stat_statements; the three kinds and the warm-up together):\n\n"
                        + table(["statement", "calls", "mean", "max"], pg_rows) + "\n")
        self.add(f"""
## Management API

**CreateToken**: {fmt_int(create['count'])} tokens created by {create['concurrency']}
concurrent clients (each on its own connection, as the admin, for
{create['users']} users) over a database already holding {fmt_int(n)} tokens:
**{fmt_int(create['per_second'])} tokens/s**, latency p50 {fmt_ms(c['p50'])},
p99 {fmt_ms(c['p99'])}, max {fmt_ms(c['max'])}. Each creation is one
transaction (token row, audit event, change-feed version and notification)
committed with PostgreSQL's default durability (`fsync` and
`synchronous_commit` on).

**ListTokens** first page (default page size), {lst['iterations']} calls of each
kind after 10 warm-up calls, one client, over {fmt_int(n)}+ tokens:

{table(["query", "page", "p50", "p99", "max"], rows)}
{pg_table}
**p99 {fmt_ms(first['p99'])}** for everyone's first page (target < 10 ms:
{verdict(worst < 10)} for all three).
""")

    def fleet(self):
        designs = {}  # "new" / "baseline" -> (header, results, where they come from)
        for name in ("new", "baseline"):
            path = self.dir / f"fleet-{name}.txt"
            if path.exists():
                designs[name] = fleet_file(path) + ("measured in this run",)
        committed = BENCH_DIR / "fleet-baseline.txt"
        if "baseline" not in designs and committed.exists():
            designs["baseline"] = fleet_file(committed) + ("`bench/fleet-baseline.txt`",)
        if not designs:
            return
        configs = [tuple(int(v) for v in c.split(":")) for c in self.m.get("fleet_configs", "").split()]
        names = [d for d in ("new", "baseline") if d in designs]
        header = {"new": "this build", "baseline": "baseline"}
        if "baseline" in designs:
            header["baseline"] = f"before the rewrite (`{designs['baseline'][0].get('commit', '?')[:7]}`)"

        def cell(design, config, render):
            runs = designs[design][1].get(config)
            if runs is None or "snapshot" not in runs:
                return "not measured"
            return render(runs["snapshot"], runs.get("revocation"), designs[design][0])

        def ready(snap, rev, meta):
            n, got, failed = int(snap["consumers"]), int(snap["ready"]), int(snap["failed"])
            text = (f"**{fmt_s(num(snap, 'ready_all_ms'))}**" if snap["complete"] == "1" else
                    f"**not all ready within {meta.get('snapshot_timeout', '?')}**: {got} of {n}")
            return text + (f"; {failed} streams failed" if failed else "")

        def spread(snap, rev, meta):
            if num(snap, "ready_p50_ms") is None:
                return "none ready"
            return f"{fmt_s(num(snap, 'ready_p50_ms'))} / {fmt_s(num(snap, 'ready_max_ms'))}"

        def count(key, scale=1, unit="", suffix=""):
            def render(snap, rev, meta):
                before, peak, idle = (num(snap, f"{key}_{w}{suffix}") for w in ("before", "peak", "idle"))
                if peak is None:
                    return "not sampled"
                f = (lambda v: f"{v / scale:,.0f}{unit}")
                return f"{f(before)} → **{f(peak)}** ({f(idle)})"
            return render

        def db_kinds(snap, rev, meta):
            a, b = num(snap, "db_in_transaction_peak"), num(snap, "db_snapshot_cursors_peak")
            return "not sampled" if a is None else f"{a:.0f} / {b:.0f}"

        def load(snap, rev, meta):
            return snap.get("loadavg", "not recorded").replace(",", " / ")

        def cpu(snap, rev, meta):
            return f"{num(snap, 'service_cpu_s'):.1f} s / {num(snap, 'client_cpu_s'):.1f} s"

        def fanout(prefix, bold):
            def render(snap, rev, meta):
                if rev is None or rev.get("skipped") or num(rev, "pairs") in (None, 0):
                    return "not measured (not every consumer was ready)"
                p50, p99 = num(rev, f"{prefix}p50_ms"), num(rev, f"{prefix}p99_ms")
                text = f"{fmt_ms(p50)} / **{fmt_ms(p99)}**" if bold else f"{fmt_ms(p50)} / {fmt_ms(p99)}"
                if prefix != "rpc_":
                    text += f" / {fmt_ms(num(rev, prefix + 'max_ms'))}"
                missed = int(num(rev, "missed") or 0) if prefix == "" else 0
                return text + (f" ({missed} pairs never seen)" if missed else "")
            return render

        tables = []
        for config in configs:
            n, tokens = config
            big = config == (200, 100000)
            rows = [
                ("all N have `SNAPSHOT_END`", ready, "< 20 s" if big else ""),
                ("SNAPSHOT_END, p50 / slowest of those ready", spread, ""),
                ("token-service threads: before → peak (with the streams idle)", count("threads"),
                 "independent of N"),
                ("token-service RSS: before → peak (idle)", count("rss", 1024, " MiB", "_kib"), ""),
                ("token-service's database sessions: before → peak (idle)",
                 count("db_connections"), "independent of N"),
                ("peak sessions in a transaction / reading the snapshot cursor", db_kinds, ""),
                ("CPU time during phase 1: token-service / bench-fleet", cpu, ""),
                ("revocation → each consumer has it: p50 / p99 / max", fanout("", False), ""),
                ("revocation → every consumer has it: p50 / p99 / max", fanout("every_", True),
                 "p99 < 100 ms" if n == 200 else ""),
                ("`RevokeToken` call itself: p50 / p99", fanout("rpc_", False), ""),
                ("the machine's load average (1 min) before / after", load, ""),
            ]
            body = [[label] + [cell(d, config, render) for d in names] + [target]
                    for label, render, target in rows]
            snapshot_tokens = next((r["snapshot"].get("tokens_max") for d in names
                                    for c, r in designs[d][1].items() if c == config), "?")
            connections = ", ".join(
                f"{header[d]}: {designs[d][1][config]['snapshot']['connections']}"
                for d in names if config in designs[d][1])
            tables.append(
                f"### {n} consumers × {fmt_int(tokens)} tokens\n\n"
                f"Snapshot of {fmt_int(int(snapshot_tokens)) if snapshot_tokens != '?' else '?'} "
                f"tokens; TCP connections of bench-fleet to token-service: {connections}.\n\n"
                + table([""] + [header[d] for d in names] + ["target"], body))

        # The summary compares this run's configurations only.
        self.fleet_summary({d: (meta, {c: r for c, r in runs.items() if c in configs}, where)
                            for d, (meta, runs, where) in designs.items()}, header)
        resync = self.fleet_resync()
        resync_where = ("measured with a real sidecar at the end of this section" if resync else
                        "not measured in this run")

        def compiled(text):
            # From the binary's debug information: "GNU C++17 12.2.0 ... -g -O2 ...".
            flags = [f for f in text.split() if re.fullmatch(r"-(O.?|g\d?)", f)]
            if text.startswith("GNU") and flags:
                return f"built with `{' '.join(flags)}` ({' '.join(text.split()[:3])})"
            return f"built with {text}"

        sources = []
        for d in names:
            meta, _, where = designs[d]
            sources.append(
                f"- **{header[d]}**: token-service of commit `{meta.get('commit', 'unknown')}`, "
                f"{compiled(meta.get('compiled', 'unknown flags'))}, token-service flags "
                f"{meta.get('flags', '?')}; measured on {meta.get('date', '?')} "
                f"({meta.get('cores', '?')} cores, {meta.get('cpu', '?')}; results {where}) by\n"
                f"  `{meta.get('environment', '')} {meta.get('command', '?')}`.")
        sep = "\n\n"
        self.add(f"""
## Sync feed at fleet scale

`bench-fleet` (`bench/fleet_bench.cc`) plays a fleet of N sidecars in one
process. Each consumer has a gRPC channel and a TCP connection of its own
(counted from `/proc` below), opens `SyncTokens(from_version=0)` at the same
moment as all the others, reads its stream through gRPC's callback API and
decodes every token and user with the sidecar's own functions
(`SyncedTokenFromProto`, `SyncedUserFromProto`), without building a cache.
Each configuration runs against a token-service started for it, with the
flags named below (before the rewrite, the default `--db_pool_size=8` allows
two snapshots at once), on a database of its own: the bulk-loaded tokens (100
per user), the {self.m.get('fleet_revocations', '?')} tokens to revoke and the bench's own two.

- **Phase 1, snapshots**: from opening the N streams until each consumer has
  `SNAPSHOT_END` (given up after the snapshot timeout). Every 50 ms
  meanwhile bench-fleet samples token-service's `Threads` and `VmRSS`
  (`/proc/PID/status`) and its sessions in `pg_stat_activity` (client
  backends of its database; "in a transaction": `active` or `idle in
  transaction`; "reading the snapshot cursor": a session whose statement
  reads `feed_snapshot`, the cursor of the design before the rewrite).
  "Before" is just before the streams open, "idle" half a second after the
  last snapshot (or the timeout), with all N streams still open.
- **Phase 2, revocation fan-out**: the tokens to revoke were created before
  phase 1, so every snapshot has the same size. They are revoked one at a time
  (`RevokeToken` as the admin); for each, the time from sending the call until
  each consumer has decoded the `DELTA` that carries the token with `revoked`
  set, which includes the revocation's own commit (its call time is shown
  too). The next revocation waits until all N have it.

Everything shares this machine's {self.m['cores']} cores: token-service,
PostgreSQL and bench-fleet, whose decoding of N copies of the snapshot is CPU
time that token-service does not get.

Targets (the issue "The sync feed for a fleet"): database connections used
for snapshots independent of N; token-service threads independent of N; 200
consumers × 100,000 tokens all ready in under 20 s on this 2-core machine;
revocation p99 to 200 consumers under 100 ms; a sidecar back in sync under
500 ms after token-service returns ({resync_where}).

{sep.join(sources)}

{sep.join(tables)}

```sh
bench/run.sh --only fleet          # this section alone, into a temporary file
FLEET_BASELINE_SERVICE=/path/to/previous/token-service bench/run.sh --only fleet
BENCH_ADMIN_TOKEN=... BENCH_SERVICE_TOKEN=... bench-fleet --target 127.0.0.1:PORT \\
  --consumers N --revocations {self.m.get('fleet_revocations', 'R')} --service_pid PID --database_url URI \\
  --snapshot_timeout {self.m.get('fleet_snapshot_timeout', '300s')}
```

`FLEET_BASELINE_SERVICE` adds the baseline column measured in the same run
(`FLEET_BASELINE_SAVE=bench/fleet-baseline.txt` keeps its raw results for
later reports; `FLEET_DESIGNS=baseline` measures it alone); without it the
column comes from `bench/fleet-baseline.txt`.
{resync}""")

    def fleet_resync(self):
        """The fleet stage's token-service restarts under a real sidecar: its
        subsection (empty when they did not run) and its summary line."""
        path = self.dir / "resync.txt"
        if not path.exists():
            return ""
        # A header of whole-line key=value pairs, then a line per variant.
        meta, variants = machine_info(path), []
        for row in key_values(path):
            if "down_s" in row and "file" in row:
                variants.append((row, self.json(row["file"])))
        if not variants:
            return ""
        restarts = {}
        restarts_path = self.dir / "resync-restarts.txt"
        if restarts_path.exists():
            for r in key_values(restarts_path):
                restarts.setdefault(r["variant"], []).append(r)

        def dur(ms):
            return fmt_s(ms) if ms >= 1000 else fmt_ms(ms)

        rows, summary, met = [], [], True
        for row, data in variants:
            down = row["down_s"]
            sync, accepted, after = (data["in_sync_ms"], data["revoke_accepted_ms"],
                                     data["revoke_to_in_sync_ms"])
            attempts = max(r["revoke_attempts"] for r in data["each_round"])
            listening = [int(r["listening_ms"]) for r in restarts.get(row["variant"], [])]
            stopping = [int(r["stop_ms"]) for r in restarts.get(row["variant"], [])]
            met = met and sync["p99"] < 500
            rows.append([
                f"{down} s", data["rounds"],
                f"{dur(sync['p50'])} / **{dur(sync['p99'])}** / {dur(sync['max'])}",
                f"{fmt_ms(accepted['p50'])} / {fmt_ms(accepted['max'])}"
                + (f" ({attempts} attempts at most)" if attempts > 1 else ""),
                f"{dur(after['p50'])} / {dur(after['max'])}",
                f"{statistics.median(stopping):.0f} ms / {statistics.median(listening):.0f} ms"
                if listening else "not recorded",
                row.get("loadavg", "not recorded").replace(",", " / ")])
            summary.append(f"down {down} s: {dur(sync['p99'])} (p50 {dur(sync['p50'])}, "
                           f"{data['rounds']} round{'' if data['rounds'] == 1 else 's'})")
        self.summary.append((
            "Fleet: a sidecar back in sync after token-service returns (a revocation made then "
            "reaches it), p99", "; ".join(summary), "< 500 ms", met))
        plan = " ".join(f"{row['down_s']}:{row['rounds']}" for row, _ in variants)
        built = f"commit `{meta.get('commit', 'unknown')[:12]}`"
        if meta.get("uncommitted"):
            built += f" {meta['uncommitted']}"
        flags = meta.get("service_flags", "(defaults)")
        flags = "default flags" if flags == "(defaults)" else f"flags `{flags}`"
        loaded = int(variants[0][0]["loaded"])
        poll = variants[0][1]["poll_interval_ms"]
        return f"""
### Back in sync after token-service returns

One real token-sidecar (default flags) follows a token-service ({flags}),
both of this build ({built}) and started for this, on the fleet database
loaded last ({fmt_int(loaded)} bulk-loaded tokens); measured on
{meta.get('date', '?')} by `{meta.get('command', '?')}`.
`bench-client resync`, a coprocess of
`bench/run.sh`, first creates one token per round and waits until the
sidecar allows each. Then, round by round, it says `restart`; the harness
stops token-service (SIGTERM, and waits until the process has exited: the
sidecar's stream breaks and its channel starts backing off), leaves it down
for the time below, starts it again with `--listen` on the same address and
answers `ready` as soon as its ready file appears (`--ready_file`, looked
for every 10 ms, so the clock starts up to about 10 ms after token-service
serves). At once
bench-client revokes that round's token through token-service (each attempt
on a new connection, again every 5 ms while the answer is `UNAVAILABLE`) and
calls the sidecar's `Authenticate` every {poll:g} ms until it denies the token.
**Back in sync** is the time from `ready` until that denial: the sidecar has
reconnected and applied a change made after the restart; it includes the
revocation's own call and commit (the "accepted" column) and up to one poll
interval. The sidecar answers from its cache throughout, allowing the token
until the revocation arrives.

{table(["token-service down", "rounds", "back in sync: p50 / p99 / max", "revocation accepted: p50 / max", "accepted → sidecar denies: p50 / max", "stopping token-service / start → listening (medians)", "load average (1 min) before / after"], rows)}

Target (the issue "The sync feed for a fleet"): back in sync under 500 ms
after token-service returns: {verdict(met)}. Before the sidecar's streams
waited for the connection and its channel's reconnect backoff was capped
(commit `673855b`), the issue measured 1.65–4.74 s for a revocation to
reach sidecars after token-service came back.

```sh
FLEET_RESYNC="{plan}" bench/run.sh --only fleet   # after the fleet's configurations
TOKEN_SIDECAR_SERVICE_TOKEN=... token-sidecar --listen 127.0.0.1:0 --token_service 127.0.0.1:PORT
BENCH_ADMIN_TOKEN=... bench-client resync --service 127.0.0.1:PORT --sidecars 127.0.0.1:SIDECAR_PORT \\
  --count ROUNDS --out resync.json   # answer each "restart" on its stdout with "ready" on its stdin
```
"""

    def fleet_summary(self, designs, header):
        """The fleet's lines in the summary: this build's numbers, judged
        against the targets, and the baseline's beside them."""
        def measured(render):
            parts = []
            for d in ("new", "baseline"):
                if d in designs:
                    text = render(designs[d][1])
                    if text is not None:
                        parts.append(text if d == "new" and len(designs) == 1 else
                                     f"{header[d]}: {text}")
            return "; ".join(parts) if parts else None

        def met(check):
            runs = designs.get("new", (None, {}))[1]
            try:
                return check(runs)
            except (KeyError, TypeError):
                return None

        def group(runs):
            """{N: snapshot results} of the size with the most configurations."""
            by_size = {}
            for (n, tokens), r in runs.items():
                if "snapshot" in r:
                    by_size.setdefault(tokens, {})[n] = r["snapshot"]
            if not by_size:
                return 0, {}
            return max(by_size.items(), key=lambda kv: (len(kv[1]), kv[0] == 100000))

        def peaks(runs, key):
            tokens, g = group(runs)
            values = [num(g[n], key) for n in sorted(g)]
            return None if len(values) < 2 or None in values else values

        def listing(keys):
            def render(runs):
                lists = [peaks(runs, k) for k in keys]
                if None in lists:
                    return None
                return "; ".join(", ".join(f"{v:.0f}" for v in values) for values in lists)
            return render

        tokens, g = group(designs.get("new", designs.get("baseline"))[1])
        if len(g) >= 2:
            label = f"N = {', '.join(str(n) for n in sorted(g))} × {fmt_int(tokens)} tokens"
            threads = measured(listing(["threads_peak"]))
            if threads:
                self.summary.append((
                    f"Fleet: token-service's threads, peak ({label})", threads,
                    f"independent of N (±{FLEET_THREADS_SLACK})",
                    met(lambda r: max(peaks(r, "threads_peak")) - min(peaks(r, "threads_peak"))
                        <= FLEET_THREADS_SLACK)))
            sessions = measured(listing(["db_connections_peak", "db_snapshot_cursors_peak"]))
            if sessions:
                # Sessions, whatever they do: a design that reads snapshots
                # some other way than through today's cursor counts the same.
                self.summary.append((
                    f"Fleet: token-service's database sessions during the snapshots, peak; of "
                    f"them reading today's snapshot cursor ({label})", sessions,
                    "independent of N (±1)",
                    met(lambda r: max(peaks(r, "db_connections_peak"))
                        - min(peaks(r, "db_connections_peak")) <= 1)))

        def big(runs, phase):
            return runs.get((200, 100000), {}).get(phase)

        def ready_all(runs):
            snap = big(runs, "snapshot")
            if snap is None:
                return None
            if snap["complete"] == "1":
                return fmt_s(num(snap, "ready_all_ms"))
            return f"not all within {self.m.get('fleet_snapshot_timeout', '?')} ({snap['ready']} of 200)"

        text = measured(ready_all)
        if text:
            self.summary.append((
                "Fleet: 200 consumers × 100,000 tokens, until all have their snapshot", text,
                "< 20 s", met(lambda r: big(r, "snapshot")["complete"] == "1"
                              and num(big(r, "snapshot"), "ready_all_ms") < 20000)))

        def fanout(runs):
            rev = big(runs, "revocation")
            if rev is None or num(rev, "every_p99_ms") is None:
                return None
            return f"{fmt_ms(num(rev, 'every_p99_ms'))} (p50 {fmt_ms(num(rev, 'every_p50_ms'))})"

        text = measured(fanout)
        if text:
            self.summary.append((
                "Fleet: revocation seen by all 200 consumers, p99", text, "< 100 ms",
                met(lambda r: num(big(r, "revocation"), "every_p99_ms") < 100)))

    def render(self):
        m = self.m
        stages = m.get("stages", "main").split()
        # --only: the stage run alone.
        only = stages[0] if "stages" in m and len(stages) == 1 else None
        parts = []
        if "main" in stages:
            parts += [self.check, self.core, self.snapshot, self.propagation, self.usage,
                      self.management]
        if "fleet" in stages:
            parts.append(self.fleet)
        if "snapshot" in stages:
            parts.append(self.snapshot)
        for part in parts:
            part()
        mem_gib = int(m["memory_kib"]) / 1024 / 1024
        summary_rows = [[what, measured, target,
                         "" if met is None else ("met" if met else "**missed**")]
                        for what, measured, target, met in self.summary]
        # When the run ended (machine.txt is written last), so that rendering
        # the same results again does not change the date.
        ended = (self.dir / "machine.txt").stat().st_mtime
        when = datetime.datetime.fromtimestamp(ended, datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC")
        quick_note = ("\n> **Quick mode**: small sizes and short runs, only to show the harness "
                      "works. The numbers are not the project's benchmark results.\n"
                      if self.quick else "")
        if only:
            quick_note += (f"\n> **One stage** (`--only {only}`): the other benchmarks did not "
                           "run, and the summary holds this stage's lines only.\n")
        command = m["command"].strip()
        plain = "bench/run.sh --quick" if self.quick else "bench/run.sh"
        if only:
            plain += f" --only {only}"
        same_as = ("" if command == plain else
                   f"\n`{plain}` alone reproduces it from a fresh clone (`--no-build` only skips "
                   "the Release build, `--keep` keeps the logs, `--out` names the file).\n")
        head = f"""# Benchmarks

Written by `bench/run.sh` ({m['mode']} mode) on {when}; the whole run took
{int(m['elapsed_seconds']) // 60} min {int(m['elapsed_seconds']) % 60} s. Run as:

```sh
{command}
```
{same_as}{quick_note}
It builds the project in Release (`-DCMAKE_BUILD_TYPE=Release`), starts a
private PostgreSQL, token-service, token-sidecars and the bench servers of
`bench/`, loads data, runs every benchmark below and writes this file. The
targets are the project's performance targets; nothing here is asserted by
a test.

## Results against the targets

{table(["what", "measured", "target", ""], summary_rows)}

## Machine

| | |
|---|---|
| CPU | {m['cpu']}, {m['cores']} cores |
| memory | {mem_gib:.1f} GiB |
| kernel | {m['kernel']} |
| OS | {m['os']} (Debian {m['debian']}) |
| compiler | {m['compiler']}, `{m['cxx_flags']}` |
| gRPC | {m['grpc']} (protobuf {m['protobuf']}) |
| PostgreSQL | {m['postgresql']} (libpqxx {m['libpqxx']}) |
| load generator | {m['h2load']} |
| Google Benchmark | {m['benchmark']} |
| load average (1, 5, 15 min) | {m['loadavg_start']} at the start, {m['loadavg_end']} at the end |

Everything (PostgreSQL, token-service, the sidecars, the load generators)
shares these {m['cores']} cores, so every number is for the whole system on
one small machine, not for a server with cores to itself. PostgreSQL runs with
`shared_buffers=256MB`, otherwise defaults.
"""
        history = os.path.join(os.path.dirname(os.path.abspath(__file__)), "history.md")
        sections = list(self.sections)
        if os.path.exists(history):
            # Hand-kept: what earlier profiles showed and what was fixed,
            # with the numbers before and after.
            with open(history) as f:
                sections.append(f.read().strip())
        return head + "\n" + "\n\n".join(sections) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "latencies":
        print(json.dumps(latencies(argv[2])))
        return 0
    if len(argv) == 3 and argv[1] == "render":
        sys.stdout.write(Report(argv[2]).render())
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
