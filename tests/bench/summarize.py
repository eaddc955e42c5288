#!/usr/bin/env python3
"""Summarize a run of tests/bench/run.sh: figures, ratios between peers, and the targets.

usage: summarize.py RESULTS_DIR
RESULTS_DIR holds log.json, ingest.json, store.json, requests.json, upload.json (Google Benchmark JSON:
BM_upload and BM_report), backend.json (BM_backend_*: the reference support backend; absent when it is not built),
rss_new.json, rss_50mb.json (tt_rss) and machine.txt. Prints plain text; writes summary.json next to them.
Verdicts are information, not a test: nothing here fails the run.
"""
import json
import os
import sys

d = sys.argv[1]


def load(name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def runs(doc):
    """run_name -> counters: the 'median' aggregate when there are repetitions, else the run."""
    out = {}
    if not doc:
        return out
    for b in doc["benchmarks"]:
        name = b["run_name"]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[name] = b
        elif name not in out or out[name].get("run_type") != "aggregate":
            out[name] = b
    return out


def find(rs, prefix, suffix=""):
    for k, v in rs.items():
        if k.startswith(prefix) and k.endswith(suffix):
            return v
    return None


log = runs(load("log.json"))
log.update(runs(load("log_cold.json")))
ingest = runs(load("ingest.json"))
store = runs(load("store.json"))
requests = runs(load("requests.json"))
upload = runs(load("upload.json"))
backend = runs(load("backend.json"))
rss_new = load("rss_new.json")
rss_50 = load("rss_50mb.json")
machine = open(os.path.join(d, "machine.txt")).read().strip() if os.path.exists(os.path.join(d, "machine.txt")) else ""

summary = {}
verdicts = []


def verdict(what, ok, figure, target):
    verdicts.append((what, ok, figure, target))


def ratio(a, b):
    return a / b if a and b else float("nan")


print("=" * 100)
print("telltale benchmarks - summary")
print(machine)
print("=" * 100)

# ------------------------------------------------------------------ latency
if log:
    ovh = (find(log, "BM_floor_rdtsc") or {}).get("timer_ovh_ns", 0.0)
    floor_tsc = find(log, "BM_floor_rdtsc")
    floor_cg = find(log, "BM_floor_clock_gettime")
    floor_cp = find(log, "BM_floor_copy_event")
    print("\nCaller-thread latency per call (TSC stamps around each call; bursts of 1000, backend catches up between bursts)")
    print(f"  timer overhead (empty timed region, median): {ovh:.1f} ns - included in 'raw', subtracted in 'net'")
    if floor_tsc and floor_cg:
        print(f"  floors (net medians): rdtsc {floor_tsc['median_ns'] - ovh:.1f} ns, clock_gettime(CLOCK_REALTIME) {floor_cg['median_ns'] - ovh:.1f} ns"
              + (f", copy_event (strlen+memcpy of the event into L1 + rdtsc) {floor_cp['median_ns'] - ovh:.1f} ns" if floor_cp else ""))
    print(f"  {'peer':40s} {'median':>8s} {'p90':>8s} {'p99':>8s} {'p99.9':>9s} {'max':>10s} {'net med':>8s} {'net p99':>8s} {'amort':>7s} {'dropped':>8s}")
    rows = [
        ("telltale tt_log_attrs, 1 thread", "BM_log_telltale/", "threads:1"),
        ("telltale tt_log_attrs, 2 threads", "BM_log_telltale/", "threads:2"),
        ("spdlog async, 1 thread", "BM_log_spdlog_async/", "threads:1"),
        ("spdlog async, 2 threads", "BM_log_spdlog_async/", "threads:2"),
        ("telltale, first lap of a fresh ring", "BM_log_telltale_cold/", "threads:1"),
    ]
    got = {}
    for label, pre, suf in rows:
        r = find(log, pre, suf)
        if not r:
            continue
        got[label] = r
        print(f"  {label:40s} {r['median_ns']:8.1f} {r['p90_ns']:8.1f} {r['p99_ns']:8.1f} {r['p999_ns']:9.1f} {r['max_ns']:10.0f}"
              f" {r['median_ns'] - ovh:8.1f} {r['p99_ns'] - ovh:8.1f} {r.get('amortized_ns', float('nan')):7.1f} {r['dropped']:8.0f}")
    print("  (ns; medians over 3 repetitions of each figure; 'amort' = mean per call of a burst timed as a whole)")
    for t in (1, 2):
        tt = got.get(f"telltale tt_log_attrs, {t} thread" + ("s" if t == 2 else ""))
        sp = got.get(f"spdlog async, {t} thread" + ("s" if t == 2 else ""))
        if not (tt and sp):
            continue
        raw_r = ratio(sp["median_ns"], tt["median_ns"])
        net_r = ratio(sp["median_ns"] - ovh, tt["median_ns"] - ovh)
        p99_r = ratio(sp["p99_ns"] - ovh, tt["p99_ns"] - ovh)
        am_r = ratio(sp.get("amortized_ns"), tt.get("amortized_ns"))
        print(f"  RATIO spdlog/telltale, {t} thread(s): median {raw_r:.2f}x raw, {net_r:.2f}x net; p99 {p99_r:.2f}x net; amortized {am_r:.2f}x")
        summary[f"log_{t}t"] = {"telltale_median_ns": tt["median_ns"], "telltale_p99_ns": tt["p99_ns"], "spdlog_median_ns": sp["median_ns"],
                                 "spdlog_p99_ns": sp["p99_ns"], "timer_overhead_ns": ovh, "ratio_median_raw": raw_r, "ratio_median_net": net_r, "ratio_amortized": am_r,
                                 "telltale_dropped": tt["dropped"], "spdlog_dropped": sp["dropped"]}
        verdict(f"tt_log median <= 25 ns ({t} thread(s), net)", tt["median_ns"] - ovh <= 25, f"{tt['median_ns'] - ovh:.1f} ns (raw {tt['median_ns']:.1f})", "<= 25 ns")
        verdict(f"tt_log p99 <= 200 ns ({t} thread(s), net)", tt["p99_ns"] - ovh <= 200, f"{tt['p99_ns'] - ovh:.1f} ns (raw {tt['p99_ns']:.1f})", "<= 200 ns")
        verdict(f">= 8x faster than spdlog async ({t} thread(s), median, net)", net_r >= 8, f"{net_r:.2f}x (raw {raw_r:.2f}x)", ">= 8x")

# ------------------------------------------------------------------ ingest
if ingest:
    tt = find(ingest, "BM_ingest_telltale")
    raw = find(ingest, "BM_ingest_sqlite/0/")
    rawav = find(ingest, "BM_ingest_sqlite/1/")
    rawv2 = find(ingest, "BM_ingest_sqlite/2/")
    print("\nSustained durable ingest, 200k events (bench_log's event), 1 producer, everything committed (medians of 5)")
    if tt:
        print(f"  telltale (TT_FULL_BLOCK, tt_flush)           {tt['events_per_s']:12,.0f} events/s  dropped {tt['dropped']:.0f}, producer busy {tt['producer_s'] * 1000:.0f} ms")
    if raw:
        print(f"  raw SQLite (WAL, NORMAL, 4096 rows/txn)      {raw['events_per_s']:12,.0f} events/s  (telltale's table: AUTOINCREMENT)")
    if rawav:
        print(f"  raw SQLite + auto_vacuum=INCREMENTAL          {rawav['events_per_s']:12,.0f} events/s")
    if rawv2:
        print(f"  raw SQLite, plain rowid (schema <= 2)         {rawv2['events_per_s']:12,.0f} events/s")
    if tt and raw:
        r = ratio(tt["events_per_s"], raw["events_per_s"])
        r2 = ratio(tt["events_per_s"], rawav["events_per_s"]) if rawav else float("nan")
        r3 = ratio(tt["events_per_s"], rawv2["events_per_s"]) if rawv2 else float("nan")
        print(f"  RATIO telltale/raw SQLite: {r:.2f}x (vs raw + auto_vacuum: {r2:.2f}x; vs a plain rowid table: {r3:.2f}x)")
        summary["ingest"] = {"telltale_events_per_s": tt["events_per_s"], "raw_events_per_s": raw["events_per_s"],
                             "raw_autovacuum_events_per_s": rawav["events_per_s"] if rawav else None,
                             "raw_plain_rowid_events_per_s": rawv2["events_per_s"] if rawv2 else None, "ratio": r,
                             "ratio_vs_plain_rowid": r3, "telltale_dropped": tt["dropped"]}
        verdict("ingest >= 0.7x raw SQLite", r >= 0.7, f"{r:.2f}x", ">= 0.7x")

# ------------------------------------------------------------------ store
if store:
    be = find(store, "BM_store_bytes_per_event")
    o50 = find(store, "BM_store_open/50")
    o0 = find(store, "BM_store_open/0")
    print("\nBuffer on disk and at open")
    if be:
        print(f"  bytes on disk per event: {be['bytes_per_event']:.1f} (100k realistic events, {be['file_bytes'] / 1e6:.1f} MB);"
              f" payload {be['payload_bytes_per_event']:.1f} B/event, as a spdlog text line {be['text_log_bytes_per_event']:.1f} B/event"
              f" -> {ratio(be['bytes_per_event'], be['payload_bytes_per_event']):.2f}x payload, {ratio(be['bytes_per_event'], be['text_log_bytes_per_event']):.2f}x text log")
        summary["bytes_per_event"] = be["bytes_per_event"]
    if o50:
        print(f"  tt_open on a {o50['db_bytes'] / 1e6:.1f} MB buffer ({o50['events']:.0f} events): median {o50['open_median_ms']:.2f} ms, max {o50['open_max_ms']:.2f} ms"
              f" (30 opens); tt_close {o50['close_median_ms']:.2f} ms; first tt_stats_get {o50['first_stats_median_ms']:.2f} ms")
        summary["open_50mb_ms"] = {"median": o50["open_median_ms"], "max": o50["open_max_ms"]}
        verdict("tt_open on 50 MB < 5 ms (median of 30)", o50["open_median_ms"] < 5, f"{o50['open_median_ms']:.2f} ms (max {o50['open_max_ms']:.2f})", "< 5 ms")
    if o0:
        print(f"  tt_open creating a new buffer: median {o0['open_median_ms']:.2f} ms, max {o0['open_max_ms']:.2f} ms; tt_close {o0['close_median_ms']:.2f} ms")

# ------------------------------------------------------------------ requests
if requests:
    api = find(requests, "BM_request_api/")
    ph = find(requests, "BM_request_api_phases/")
    lo = find(requests, "BM_request_loopback/")
    print("\nTraced request, caller thread (begin + traceparent + 3 headers + end(200); bursts of 1000, tt_flush between them; medians of 3 repetitions)")
    if api:
        ovh = api["timer_ovh_ns"]
        print(f"  median {api['median_ns']:.0f} ns (net {api['median_ns'] - ovh:.0f}), p90 {api['p90_ns']:.0f}, p99 {api['p99_ns']:.0f} (net {api['p99_ns'] - ovh:.0f}),"
              f" p99.9 {api['p999_ns']:.0f}, max {api['max_ns']:.0f} ns; amortized {api['amortized_ns']:.0f} ns; requests_dropped {api['requests_dropped']:.0f}")
        print(f"  writer thread, per request record: {api.get('writer_cpu_us_per_request', float('nan')):.1f} us CPU;"
              f" tt_flush after a burst takes {api['flush_us_per_request']:.1f} us per record (disk waits included)")
        summary["request_api"] = {"median_ns": api["median_ns"], "median_net_ns": api["median_ns"] - ovh, "p99_ns": api["p99_ns"],
                                  "p999_ns": api["p999_ns"], "amortized_ns": api["amortized_ns"], "requests_dropped": api["requests_dropped"],
                                  "flush_us_per_request": api["flush_us_per_request"],
                                  "writer_cpu_us_per_request": api.get("writer_cpu_us_per_request")}
        verdict("request instrumentation <= 1000 ns (median, net)", api["median_ns"] - ovh <= 1000,
                f"{api['median_ns'] - ovh:.0f} ns (p99 {api['p99_ns']:.0f})", "<= 1000 ns")
    if ph:
        o = ph["timer_ovh_ns"]
        print(f"  phases (net medians / p99): begin + traceparent {ph['begin_median_ns'] - o:.0f} / {ph['begin_p99_ns'] - o:.0f} ns,"
              f" 3 headers {ph['headers_median_ns'] - o:.0f} / {ph['headers_p99_ns'] - o:.0f} ns, end {ph['end_median_ns'] - o:.0f} / {ph['end_p99_ns'] - o:.0f} ns")
    if lo:
        plain, instr = lo["plain_median_ns"], lo["instr_median_ns"]
        share = (instr - plain) / plain * 100
        print("\nLoopback HTTP GET (libcurl easy handle reused, keep-alive; cpp-httplib server in-process; plain and instrumented alternate)")
        print(f"  plain                      median {plain / 1000:8.1f} us, p99 {lo['plain_p99_ns'] / 1000:8.1f} us")
        print(f"  with tt_curl_begin/end     median {instr / 1000:8.1f} us, p99 {lo['instr_p99_ns'] / 1000:8.1f} us")
        print(f"  RATIO instrumented/plain: {instr / plain:.3f}x ({share:+.1f} %); median of paired differences {lo['paired_diff_median_ns'] / 1000:.1f} us"
              f" ({lo['paired_diff_median_ns'] / plain * 100:.1f} %)")
        print(f"  the helper's own calls (tt_curl_begin + tt_curl_end): median {lo['helper_median_ns']:.0f} ns, p99 {lo['helper_p99_ns']:.0f} ns"
              f" = {lo['helper_median_ns'] / plain * 100:.1f} % of the plain request")
        if api:
            print(f"  the plain API's cost (above) = {(api['median_ns'] - api['timer_ovh_ns']) / plain * 100:.2f} % of the plain request")
        print(f"  writer thread meanwhile: {lo.get('writer_cpu_us_per_request', float('nan')):.1f} us CPU per instrumented request (in the background, on the other core when there is one)")
        print(f"  requests_dropped {lo['requests_dropped']:.0f}, new connections while timed {lo['reconnects']:.0f}")
        summary["request_loopback"] = {"plain_median_ns": plain, "instr_median_ns": instr, "ratio": instr / plain, "share_pct": share,
                                       "paired_diff_median_ns": lo["paired_diff_median_ns"], "helper_median_ns": lo["helper_median_ns"],
                                       "writer_cpu_us_per_request": lo.get("writer_cpu_us_per_request"),
                                       "requests_dropped": lo["requests_dropped"], "reconnects": lo["reconnects"]}
        verdict("instrumented loopback request < 2 % slower (medians)", share < 2, f"{share:+.1f} % ({(instr - plain) / 1000:.1f} us)", "< 2 %")
    print()
    if api:
        x = api["median_ns"] - api["timer_ovh_ns"]
        print(f"request instrumentation: {x:.0f} ns per request (target <= 1000 ns): {'PASS' if x <= 1000 else 'MISS'}")
    if lo:
        print(f"share of a loopback request: {share:.1f} % (target < 2 %): {'PASS' if share < 2 else 'MISS'}")

# ------------------------------------------------------------------ upload
if upload:
    codecs = [("zstd", find(upload, "BM_upload/0/")), ("gzip", find(upload, "BM_upload/1/")), ("none", find(upload, "BM_upload/2/"))]
    codecs = [(n, r) for n, r in codecs if r]
    if codecs:
        print("\nUpload: 100k realistic events buffered (+ the consent event), consent granted, tt_upload_flush to a loopback receiver"
              " (child process; decodes every body); 2000 events per batch; medians of 3 repetitions")
        print(f"  {'codec':6s} {'body B/ev':>9s} {'wire B/ev':>9s} {'JSON B/ev':>9s} {'x':>6s} {'events/s':>9s} {'flush ms':>9s}"
              f" {'CPU us/ev':>9s} {'uploader':>8s} {'caller':>7s} {'receiver':>8s} {'batches':>7s}")
        up = {}
        for name, r in codecs:
            print(f"  {name:6s} {r['body_bytes_per_event']:9.1f} {r['wire_bytes_per_event']:9.1f} {r['json_bytes_per_event']:9.1f} {r['compression_ratio']:6.2f}"
                  f" {r['events_per_s']:9,.0f} {r['flush_ms']:9.0f} {r['cpu_us_per_event']:9.2f} {r['uploader_cpu_us_per_event']:8.2f}"
                  f" {r['caller_cpu_us_per_event']:7.2f} {r['receiver_cpu_us_per_event']:8.2f} {r['batches']:7.0f}")
            ok = r["events"] == r["sink_records"] and r["sink_bad_bodies"] == 0 and r["pending_after"] == 0 and r["pending_before"] == 100000
            if not ok:
                print(f"  CHECK {name}: events {r['events']:.0f}, received records {r['sink_records']:.0f}, bad bodies {r['sink_bad_bodies']:.0f},"
                      f" pending before {r['pending_before']:.0f} / after {r['pending_after']:.0f}")
            if r.get("expect_100"):
                print(f"  {name}: {r['expect_100']:.0f} requests sent 'Expect: 100-continue' (an extra round trip each)")
            up[name] = {k: r[k] for k in ("body_bytes_per_event", "wire_bytes_per_event", "json_bytes_per_event", "compression_ratio", "events_per_s",
                                          "flush_ms", "cpu_us_per_event", "uploader_cpu_us_per_event", "caller_cpu_us_per_event",
                                          "receiver_cpu_us_per_event", "batches", "events", "sink_records")}
        pay = codecs[0][1]["payload_bytes_per_event"]
        print(f"  (B/ev = bytes per event: 'body' as received, 'wire' + the HTTP request headers, 'JSON' the OTLP JSON decoded; x = JSON/body."
              f" Payload, message + keys + values: {pay:.1f} B/event."
              f" CPU: this whole process during the flush per event; 'uploader' the busiest library thread, 'caller' the thread waiting in tt_upload_flush)")
        summary["upload"] = up
        zs, gz = dict(codecs).get("zstd"), dict(codecs).get("gzip")
        if zs and gz:
            zr = ratio(zs["body_bytes_per_event"], gz["body_bytes_per_event"])
            summary["upload"]["zstd_over_gzip"] = zr
            print(f"  RATIO zstd/gzip, bytes per event: {zr:.3f}x")
            verdict("upload: zstd <= 0.6x gzip (bytes per event)", zr <= 0.6, f"{zr:.3f}x ({zs['body_bytes_per_event']:.1f} / {gz['body_bytes_per_event']:.1f} B)", "<= 0.6x")
            print(f"\nzstd/gzip: {zr:.3f}x (target <= 0.6x): {'PASS' if zr <= 0.6 else 'MISS'}")

# ------------------------------------------------------------------ reports
if upload:
    rep = [("no endpoint", find(upload, "BM_report/0/")), ("loopback", find(upload, "BM_report/1/"))]
    rep = [(n, r) for n, r in rep if r]
    if rep:
        print(f"\nProblem report with {rep[0][1]['events_in_buffer']:,.0f} events (+500 requests) buffered in the last 30 minutes;"
              f" {rep[0][1]['samples']:.0f} reports per variant, one after the other (each on an idle client)")
        worst = 0.0
        summary["report"] = {}
        for name, r in rep:
            sent = f", SENT after {r['sent_median_ms']:.0f} ms (max {r['sent_max_ms']:.0f})" if "sent_median_ms" in r else ""
            print(f"  {name:12s} tt_report_submit median {r['submit_median_ms']:.2f} ms, p99 {r['submit_p99_ms']:.2f} ms (= the max of {r['samples']:.0f});"
                  f" assembled after {r['assembled_median_ms']:.0f} ms (max {r['assembled_max_ms']:.0f}){sent}")
            print(f"  {'':12s} tt_report_status 5 ms after the submit waits {r['status_median_ms']:.0f} ms (max {r['status_max_ms']:.0f});"
                  f" a second submit while one is assembled waits {r['burst_submit_median_ms']:.0f} ms")
            worst = max(worst, r["submit_median_ms"])
            summary["report"][name] = {k: r[k] for k in r if k.endswith("_ms") or k.endswith("bytes") or k in ("samples", "report_events", "logs_truncated")}
        r = rep[-1][1]
        raw = r["logs_ndjson_bytes"]
        print(f"  size: manifest.json {r['manifest_bytes'] / 1e3:.1f} kB, logs.ndjson.zst {r['logs_zst_bytes'] / 1e6:.2f} MB"
              f" ({r['report_events']:.0f} events, NDJSON {raw / 1e6:.1f} MB, x{ratio(raw, r['logs_zst_bytes']):.1f};"
              f" {r['logs_zst_bytes'] / max(r['report_events'], 1):.1f} B/event; truncated: {'yes' if r['logs_truncated'] else 'no'})"
              + (f"; multipart body {r['wire_body_bytes'] / 1e6:.2f} MB, receiver unpacked {r['rx_logs_lines']:.0f} lines" if "wire_body_bytes" in r else ""))
        if r.get("rx_expect_100"):
            print(f"  {r['rx_expect_100']:.0f} of {r['received_reports']:.0f} reports were sent with 'Expect: 100-continue' (libcurl does so above 1 MiB):"
                  " a round trip each, and a 1 s stall against a server that does not answer it")
        verdict("report: tt_report_submit median < 50 ms (100k events)", worst < 50, f"{worst:.2f} ms (worst variant)", "< 50 ms")
        print(f"\nreport submit: {worst:.2f} ms median (target < 50 ms): {'PASS' if worst < 50 else 'MISS'}")

# ------------------------------------------------------------------ support backend
if backend:
    print("\nReference support backend (examples/support-backend), real binary in a child process, loopback, libcurl keep-alive;"
          " OTLP/HTTP JSON batches of 500 log records (zstd), captured from the library and made unique; medians of the repetitions")
    summary["backend"] = {}
    for conns in (1, 2):
        r = find(backend, f"BM_backend_logs/{conns}/")
        if not r:
            continue
        print(f"  logs, {conns} connection(s): {r['records_per_s']:9,.0f} records/s wall; backend {r['backend_cpu_us_per_record']:.2f} us CPU/record ="
              f" {r['records_per_backend_cpu_s']:9,.0f} records per backend CPU-second ({r['backend_cores']:.2f} cores busy);"
              f" POST median {r['post_median_ms']:.1f} ms, p99 {r['post_p99_ms']:.1f} ms; {r['connections_opened']:.0f} connections opened")
        if r["stored_records"] != r["posted_records"] or r["duplicates_answered"]:
            print(f"  CHECK logs/{conns}: posted {r['posted_records']:.0f}, stored {r['stored_records']:.0f}, answered as duplicates {r['duplicates_answered']:.0f}")
        summary["backend"][f"logs_{conns}"] = {k: r[k] for k in ("records_per_s", "records_per_backend_cpu_s", "backend_cpu_us_per_record", "backend_cores",
                                                              "post_median_ms", "post_p99_ms", "connections_opened", "stored_records", "posted_records")}
    ph = find(backend, "BM_backend_phases")
    if ph:
        print(f"  where the CPU goes (tsb_core in-process, no HTTP), per record: zstd decode {ph['decode_ns_per_record'] / 1e3:.2f} us,"
              f" parse_otlp {ph['parse_ns_per_record'] / 1e3:.2f} us, Store::add_batch {ph['store_ns_per_record'] / 1e3:.2f} us"
              f" ({ph['records_per_cpu_s']:,.0f} records per CPU-second without HTTP)")
        summary["backend"]["phases"] = {k: ph[k] for k in ("decode_ns_per_record", "parse_ns_per_record", "store_ns_per_record", "records_per_cpu_s")}
    du = find(backend, "BM_backend_duplicate")
    if du:
        print(f"  duplicate batch id re-posted: {du['dup_backend_cpu_ms_per_post_schedstat']:.2f} ms backend CPU per post vs {du['fresh_backend_cpu_ms_per_post_schedstat']:.2f} ms"
              f" for a fresh batch ({du['dup_over_fresh_cpu']:.2f}x); wall {du['dup_wall_ms_per_post']:.1f} ms per post;"
              f" {du['duplicates_answered']:.0f} answered as duplicates, stored {du['stored_records']:.0f} of {du['expected_records']:.0f} expected")
        summary["backend"]["duplicate"] = {k: du[k] for k in ("dup_backend_cpu_ms_per_post_schedstat", "fresh_backend_cpu_ms_per_post_schedstat",
                                                            "dup_over_fresh_cpu", "dup_wall_ms_per_post")}
    for arg, label in ((0, "ordinary"), (1, "default storm rule")):
        r = find(backend, f"BM_backend_report/{arg}/")
        if not r:
            continue
        print(f"  reports ({label}): {r['reports_per_s']:.1f} reports/s wall, {r['backend_cpu_ms_per_report']:.2f} ms backend CPU per report ="
              f" {r['reports_per_backend_cpu_s']:.0f} per backend CPU-second; {r['body_bytes'] / 1e3:.1f} kB multipart with {r['report_log_lines']:.0f} log lines;"
              f" POST median {r['post_median_ms']:.1f} ms; incident open at the end: {'yes' if r['incident_open'] else 'no'}")
        summary["backend"][f"report_{arg}"] = {k: r[k] for k in ("reports_per_s", "backend_cpu_ms_per_report", "reports_per_backend_cpu_s", "post_median_ms")}
    r = find(backend, "BM_backend_logs/1/")
    if r:
        verdict("backend: >= 50k log records per backend CPU-second", r["records_per_backend_cpu_s"] >= 50000,
                f"{r['records_per_backend_cpu_s']:,.0f} records/CPU-s", ">= 50k")
        print(f"\nsupport backend: {r['records_per_backend_cpu_s']:,.0f} log records per backend CPU-second (target >= 50k):"
              f" {'PASS' if r['records_per_backend_cpu_s'] >= 50000 else 'MISS'}")

# ------------------------------------------------------------------ rss
for label, r in (("new buffer", rss_new), ("50 MB buffer", rss_50)):
    if not r:
        continue
    print(f"\nRSS of an idle open client ({label}, fresh process, VmRSS): before tt_open {r['before_kb'] / 1024:.1f} MiB,"
          f" idle open {r['idle_kb'] / 1024:.1f} MiB (+{r['idle_delta_kb'] / 1024:.2f} MiB);"
          f" after the first log+flush +{r['after_log_delta_kb'] / 1024:.2f} MiB; after tt_stats_get {r['after_stats_kb'] / 1024:.1f} MiB")
    summary[f"rss_{label.replace(' ', '_')}"] = r
    verdict(f"idle RSS < 8 MB ({label}: delta of tt_open)", r["idle_delta_kb"] * 1024 < 8e6, f"+{r['idle_delta_kb'] / 1024:.2f} MiB", "< 8 MB")
    verdict(f"idle RSS < 8 MB ({label}: whole process, libs incl.)", r["idle_kb"] * 1024 < 8e6, f"{r['idle_kb'] / 1024:.1f} MiB", "< 8 MB")

print("\nTargets")
for what, ok, fig, tgt in verdicts:
    print(f"  [{'PASS' if ok else 'MISS'}] {what:58s} {fig:32s} target {tgt}")
summary["verdicts"] = [{"what": w, "pass": ok, "figure": f, "target": t} for w, ok, f, t in verdicts]
with open(os.path.join(d, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
