// bench_ingest: sustained durable ingest, events per second from the first log call to
// the moment all of them are committed.
//
//   telltale     one producer thread logs kEvents (the bench_log event: 60-byte message,
//                two attributes) with TT_FULL_BLOCK (nothing may drop; `dropped` is
//                reported anyway), then tt_flush: everything is committed when it returns.
//   raw SQLite   the floor: one connection, the same CREATE TABLE events(...) and index
//                (as lib/store/store.cpp kMigrations leaves them at schema 3: id INTEGER
//                PRIMARY KEY AUTOINCREMENT), WAL + synchronous=NORMAL, one prepared
//                INSERT of the same row (wall-clock time read per row, the attributes as
//                the same JSON text telltale stores), a transaction per 4096 rows.
//                /1 adds the other pragma telltale sets on a new file (auto_vacuum=
//                INCREMENTAL) to show what that costs on its own.
//                /2 is the table of schemas 1 and 2 (a plain rowid, no AUTOINCREMENT): what
//                AUTOINCREMENT (one sqlite_sequence update per row) costs on its own.
//
// Each repetition writes a fresh file; tt_open / sqlite3_open are not timed.
#include <sys/syscall.h>

#include <sqlite3.h>

#include <string>

#include "bench_common.hpp"

namespace {

using namespace ttb;

constexpr int kEvents = 200000;
constexpr int kTxnRows = 4096;

// The attributes as telltale's writer stores them (queue.cpp turns them into JSON).
constexpr char kAttrsJson[] = R"({"user":"u-4242","screen":"settings/sync"})";

// The events table as lib/store/store.cpp kMigrations leaves it: meta and sessions from
// migration 0 -> 1, the partial index from 1 -> 2, events rebuilt with AUTOINCREMENT by
// 2 -> 3. The other tables (requests, request_ids, upload_batches) take no part in logging.
// kSchemaV2: the events table before 2 -> 3 (BM_ingest_sqlite/2).
#define TT_BENCH_SCHEMA(ID)                                                                \
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"          \
    "CREATE TABLE sessions("                                                               \
    "  id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, started_ns INTEGER NOT NULL,"           \
    "  app_name TEXT NOT NULL, app_version TEXT, pid INTEGER NOT NULL);"                   \
    "CREATE TABLE events("                                                                 \
    "  id " ID ","                                                                         \
    "  time_ns INTEGER NOT NULL,"                                                          \
    "  level INTEGER NOT NULL,"                                                            \
    "  tid INTEGER NOT NULL,"                                                              \
    "  session INTEGER NOT NULL,"                                                          \
    "  msg TEXT NOT NULL,"                                                                 \
    "  attrs TEXT,"                                                                        \
    "  trace_id TEXT, span_id TEXT);"                                                      \
    "CREATE INDEX events_trace ON events(trace_id) WHERE trace_id IS NOT NULL;"
constexpr char kSchema[] = TT_BENCH_SCHEMA("INTEGER PRIMARY KEY AUTOINCREMENT");
constexpr char kSchemaV2[] = TT_BENCH_SCHEMA("INTEGER PRIMARY KEY");
#undef TT_BENCH_SCHEMA

uint64_t realtime_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void BM_ingest_telltale(benchmark::State &state) {
    std::string path = scratch_dir() + "/bench_ingest_tt.db";
    double dropped = 0, produce_s = 0, total_s = 0;
    for (auto _ : state) {
        remove_db(path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path.c_str();
        o.app_name = "bench_ingest";
        o.queue_bytes = 8u << 20;
        o.max_db_bytes = 1ull << 30;  // no retention work during the run
        o.full_policy = TT_FULL_BLOCK;
        tt_client *c = nullptr;
        if (tt_open(&c, &o) != TT_OK) die("tt_open");
        uint64_t t0 = mono_ns();
        for (int i = 0; i < kEvents; ++i)
            if (tt_log_attrs(c, TT_INFO, kMsg, kAttrs, 2) != TT_OK) die("tt_log_attrs");
        uint64_t t1 = mono_ns();
        if (tt_flush(c, 120000) != TT_OK) die("tt_flush");
        uint64_t t2 = mono_ns();
        state.SetIterationTime(double(t2 - t0) * 1e-9);
        total_s += double(t2 - t0) * 1e-9;
        produce_s += double(t1 - t0) * 1e-9;
        tt_stats s = stats_of(c);
        dropped += double(s.dropped);
        if (s.stored != uint64_t(kEvents)) fprintf(stderr, "bench_ingest: stored %llu of %d\n", (unsigned long long)s.stored, kEvents);
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
    }
    remove_db(path);
    double iters = double(state.iterations());
    // Rates computed here: Counter::kIsRate would divide by CPU time, not the manual time.
    state.counters["events_per_s"] = double(kEvents) * iters / total_s;
    state.counters["dropped"] = dropped / iters;
    state.counters["producer_s"] = produce_s / iters;  // time the caller spent in tt_log_attrs (incl. blocking)
}

void check(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite %s: %s\n", what, sqlite3_errmsg(db));
        std::abort();
    }
}

void BM_ingest_sqlite(benchmark::State &state) {
    const bool like_telltale = state.range(0) == 1;
    const char *schema = state.range(0) == 2 ? kSchemaV2 : kSchema;
    std::string path = scratch_dir() + "/bench_ingest_raw.db";
    const int64_t tid = syscall(SYS_gettid);
    double total_s = 0;
    for (auto _ : state) {
        remove_db(path);
        sqlite3 *db = nullptr;
        check(db, sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr), "open");
        if (like_telltale) check(db, sqlite3_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", nullptr, nullptr, nullptr), "auto_vacuum");
        check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr), "pragmas");
        check(db, sqlite3_exec(db, schema, nullptr, nullptr, nullptr), "schema");
        check(db, sqlite3_exec(db, "INSERT INTO sessions(uuid, started_ns, app_name, pid) VALUES('s', 0, 'bench', 1)", nullptr, nullptr, nullptr),
              "session");
        int64_t session = sqlite3_last_insert_rowid(db);
        sqlite3_stmt *ins = nullptr, *begin = nullptr, *commit = nullptr;
        check(db, sqlite3_prepare_v3(db, "INSERT INTO events(time_ns, level, tid, session, msg, attrs, trace_id, span_id) VALUES(?,?,?,?,?,?,?,?)",
                                     -1, SQLITE_PREPARE_PERSISTENT, &ins, nullptr), "prepare");
        check(db, sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr), "prepare");
        check(db, sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr), "prepare");
        auto step = [&](sqlite3_stmt *s, const char *what) {
            check(db, sqlite3_step(s), what);
            sqlite3_reset(s);
        };

        uint64_t t0 = mono_ns();
        for (int i = 0; i < kEvents; ++i) {
            if (i % kTxnRows == 0) {
                if (i) step(commit, "commit");
                step(begin, "begin");
            }
            sqlite3_bind_int64(ins, 1, int64_t(realtime_ns()));
            sqlite3_bind_int(ins, 2, TT_INFO);
            sqlite3_bind_int64(ins, 3, tid);
            sqlite3_bind_int64(ins, 4, session);
            sqlite3_bind_text(ins, 5, kMsg, sizeof kMsg - 1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 6, kAttrsJson, sizeof kAttrsJson - 1, SQLITE_STATIC);
            step(ins, "insert");  // trace_id, span_id stay NULL (bindings never set)
        }
        step(commit, "commit");
        uint64_t t1 = mono_ns();
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        total_s += double(t1 - t0) * 1e-9;

        sqlite3_finalize(ins);
        sqlite3_finalize(begin);
        sqlite3_finalize(commit);
        sqlite3_close_v2(db);
    }
    remove_db(path);
    state.counters["events_per_s"] = double(kEvents) * double(state.iterations()) / total_s;
    state.counters["dropped"] = 0;
}

}  // namespace

// Five repetitions each, interleaved at random by run.sh (the machine's load drifts);
// the summary takes the median events/s of each.
BENCHMARK(BM_ingest_telltale)->Iterations(1)->Repetitions(5)->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ingest_sqlite)->Arg(0)->Arg(1)->Arg(2)->Iterations(1)->Repetitions(5)->DisplayAggregatesOnly(true)->UseManualTime()
    ->Unit(benchmark::kMillisecond);
