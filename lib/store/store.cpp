#include "store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/ids.hpp"

namespace tt::store {
namespace {

// Each entry moves the schema from version i to i+1. Append only.
const char *const kMigrations[] = {
    // 0 -> 1: the first schema.
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE sessions("
    "  id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, started_ns INTEGER NOT NULL,"
    "  app_name TEXT NOT NULL, app_version TEXT, pid INTEGER NOT NULL);"
    "CREATE TABLE events("
    "  id INTEGER PRIMARY KEY,"         // insertion order: retention drops the lowest ids first
    "  time_ns INTEGER NOT NULL,"       // wall clock, ns since the epoch
    "  level INTEGER NOT NULL,"         // OTLP severity number
    "  tid INTEGER NOT NULL,"           // kernel thread id of the caller
    "  session INTEGER NOT NULL,"       // sessions.id
    "  msg TEXT NOT NULL,"
    "  attrs TEXT,"                     // JSON object, NULL when none
    "  trace_id TEXT, span_id TEXT);",  // hex, NULL outside a traced request
    // 1 -> 2: requests and spans, with the server's request ids, found by any id.
    "CREATE TABLE requests("
    "  id INTEGER PRIMARY KEY,"
    "  trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT,"
    "  kind TEXT NOT NULL,"             // 'http' or 'span'
    "  name TEXT, method TEXT, scheme TEXT, host TEXT, port INTEGER, path TEXT,"
    "  start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,"
    "  status INTEGER, error TEXT, bytes_up INTEGER, bytes_down INTEGER,"
    "  server_ids TEXT,"                // JSON object: header name -> value
    "  timing TEXT,"                    // JSON: curl's breakdown in microseconds
    "  server_ip TEXT, server_port INTEGER,"
    "  tid INTEGER NOT NULL, session INTEGER NOT NULL);"
    "CREATE INDEX requests_trace ON requests(trace_id);"
    "CREATE TABLE request_ids(request INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);"
    "CREATE INDEX request_ids_value ON request_ids(value);"
    "CREATE INDEX request_ids_request ON request_ids(request);"
    "CREATE INDEX events_trace ON events(trace_id) WHERE trace_id IS NOT NULL;",
    // 2 -> 3: uploads. Ids never go back (AUTOINCREMENT), so "everything up to the
    // cursor is delivered" stays true even after every row was deleted; the batch in
    // flight is kept so that a retry after a crash sends the same batch id again.
    "CREATE TABLE events_v3("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL, level INTEGER NOT NULL,"
    "  tid INTEGER NOT NULL, session INTEGER NOT NULL, msg TEXT NOT NULL, attrs TEXT, trace_id TEXT, span_id TEXT);"
    "INSERT INTO events_v3 SELECT id, time_ns, level, tid, session, msg, attrs, trace_id, span_id FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v3 RENAME TO events;"
    "CREATE INDEX events_trace ON events(trace_id) WHERE trace_id IS NOT NULL;"
    "CREATE TABLE requests_v3("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT, kind TEXT NOT NULL,"
    "  name TEXT, method TEXT, scheme TEXT, host TEXT, port INTEGER, path TEXT,"
    "  start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL, status INTEGER, error TEXT,"
    "  bytes_up INTEGER, bytes_down INTEGER, server_ids TEXT, timing TEXT, server_ip TEXT, server_port INTEGER,"
    "  tid INTEGER NOT NULL, session INTEGER NOT NULL);"
    "INSERT INTO requests_v3 SELECT * FROM requests;"
    "DROP TABLE requests;"
    "ALTER TABLE requests_v3 RENAME TO requests;"
    "CREATE INDEX requests_trace ON requests(trace_id);"
    "CREATE INDEX requests_start ON requests(start_ns);"  // retention cuts by start time
    "CREATE TABLE upload_batches("
    "  kind TEXT PRIMARY KEY,"          // 'logs' or 'traces': one batch in flight per kind
    "  batch_id TEXT NOT NULL,"         // X-Telltale-Batch, the same on every retry
    "  first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('upload_cursor_logs', '0'), ('upload_cursor_traces', '0');",
    // 3 -> 4: problem reports, persisted the moment the user asks, sent in the background.
    "CREATE TABLE reports("
    "  id TEXT PRIMARY KEY,"                // UUID: what the user quotes to support
    "  created_ns INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"               // assembling, pending, sent, failed
    "  reason TEXT,"                       // why it failed, or what was left out
    "  automatic INTEGER NOT NULL DEFAULT 0,"
    "  options TEXT NOT NULL,"             // JSON: description, contact, window_s, caps
    "  last_event_id INTEGER NOT NULL, last_request_id INTEGER NOT NULL,"  // 'now' at submit
    "  attempts INTEGER NOT NULL DEFAULT 0, notice TEXT, sent_ns INTEGER);"
    "CREATE TABLE report_parts(report TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,"
    "  data BLOB NOT NULL, PRIMARY KEY(report, name)) WITHOUT ROWID;",
};
constexpr int kMigrationCount = sizeof kMigrations / sizeof kMigrations[0];
static_assert(kMigrationCount == kSchemaVersion);

constexpr int kBusyTimeoutMs = 5000;

std::string utc_stamp() {
    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// Create the file ourselves so that it is 0600 from its first byte (SQLite would use
// 0644); SQLite gives -wal and -shm the same mode as the database file.
void create_private(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        const char *hint = "pass a db_path inside a directory the app can write to, such as its data directory";
        if (e == ENOENT) {
            auto slash = path.rfind('/');
            std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
            hint = access(dir.c_str(), F_OK) == 0
                       ? "this directory does not accept new files (a virtual file system?): pass a db_path inside the app's data directory"
                       : "create the directory first, or pass a db_path inside an existing directory";
        }
        else if (e == ENOSPC) hint = "the disk is full: free some space";
        else if (e == EISDIR) hint = "db_path names a directory; pass a file name inside it, such as \"<dir>/telltale.db\"";
        const char *what = (e == EACCES || e == EPERM || e == EROFS) ? "is not writable" : "cannot be opened for writing";
        throw Error(TT_ESTORE,
                    fmt::format("tt_open: db_path \"{}\" {} ({}: {})", path, what,
                                strerrorname_np(e) ? strerrorname_np(e) : "errno", std::strerror(e)),
                    hint);
    }
    ::close(fd);
}

}  // namespace

std::string move_aside(const std::string &path) {
    std::string base = path + ".corrupt-" + utc_stamp();
    std::string to = base;
    for (int i = 1; access(to.c_str(), F_OK) == 0; ++i) to = base + "-" + std::to_string(i);
    if (::rename(path.c_str(), to.c_str()) != 0 && errno != ENOENT)
        throw Error(TT_ESTORE, fmt::format("the buffer \"{}\" is damaged and cannot be moved aside: {}", path, std::strerror(errno)),
                    "make the directory writable, or delete the file by hand");
    ::rename((path + "-wal").c_str(), (to + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
    return to;
}

Store::Store(StoreConfig cfg) : cfg_(std::move(cfg)) {
    try {
        open_writer();
    } catch (const Error &e) {
        if (e.code() != TT_ECORRUPT) throw;
        recover(e.what());
    }
}

Store::~Store() {
    close_writer();
    sqlite3_close_v2(reader_);
}

int Store::busy_handler(void *self, int count) {
    auto *s = static_cast<Store *>(self);
    if (s->interrupted_.load(std::memory_order_relaxed)) return 0;
    // Back off from 1 ms to 20 ms; give up after about kBusyTimeoutMs.
    int ms = count < 5 ? 1 << count : 20;
    if (count > 20 && (count - 20) * 20 + 31 > kBusyTimeoutMs) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return 1;
}

void Store::open_writer() {
    create_private(cfg_.path);
    int rc = sqlite3_open_v2(cfg_.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error e = sqlite_error(db_, rc, "tt_open", cfg_.path);
        close_writer();
        throw e;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_handler(db_, &Store::busy_handler, this);
    try {
        // Only on a new, empty file (where it takes effect): on an existing one the pragma
        // would still write, and cost tt_open three fsyncs. Lets a lowered cap shrink the file.
        if (query_int(db_, "PRAGMA page_count", cfg_.path) == 0) exec(db_, "PRAGMA auto_vacuum=INCREMENTAL", cfg_.path);
        // Switching to WAL takes an exclusive lock, and SQLite answers BUSY at once, without the busy
        // handler, when another process is doing the same on a new file: retry for as long as a
        // busy write would wait.
        for (int attempt = 0;; ++attempt) {
            sqlite3_stmt *s = nullptr;
            rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &s, nullptr);
            if (rc == SQLITE_OK) rc = sqlite3_step(s);
            sqlite3_finalize(s);
            if (rc == SQLITE_ROW || rc == SQLITE_DONE) break;
            if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) break;
            if (!busy_handler(this, attempt)) break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw sqlite_error(db_, rc, "tt_open: switching to WAL", cfg_.path);
        exec(db_, "PRAGMA synchronous=NORMAL", cfg_.path);
        // Keep the WAL small next to small caps.
        uint64_t pages = std::clamp<uint64_t>(cfg_.max_bytes / 4096 / 4, 64, 1000);
        exec(db_, fmt::format("PRAGMA wal_autocheckpoint={}; PRAGMA journal_size_limit={}", pages, pages * 4096).c_str(),
             cfg_.path);
        migrate();
        begin_ = Stmt(db_, "BEGIN IMMEDIATE", cfg_.path);
        commit_ = Stmt(db_, "COMMIT", cfg_.path);
        rollback_ = Stmt(db_, "ROLLBACK", cfg_.path);
        insert_request_ = Stmt(db_,
                               "INSERT INTO requests(trace_id, span_id, parent_span_id, kind, name, method, scheme, host,"
                               " port, path, start_ns, duration_ns, status, error, bytes_up, bytes_down, server_ids,"
                               " timing, server_ip, server_port, tid, session)"
                               " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               cfg_.path);
        insert_request_id_ = Stmt(db_, "INSERT INTO request_ids(request, name, value) VALUES(?,?,?)", cfg_.path);
        insert_ = Stmt(db_,
                       "INSERT INTO events(time_ns, level, tid, session, msg, attrs, trace_id, span_id)"
                       " VALUES(?,?,?,?,?,?,?,?)",
                       cfg_.path);
    } catch (...) {
        close_writer();
        throw;
    }
}

void Store::close_writer() noexcept {
    insert_ = Stmt();
    insert_request_ = Stmt();
    insert_request_id_ = Stmt();
    begin_ = Stmt();
    commit_ = Stmt();
    rollback_ = Stmt();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Store::migrate() {
    int64_t v = query_int(db_, "PRAGMA user_version", cfg_.path);
    if (v > kSchemaVersion)
        throw Error(TT_ESTORE,
                    fmt::format("tt_open: the buffer \"{}\" was written by a newer telltale (schema {}, this library knows {})",
                                cfg_.path, v, kSchemaVersion),
                    "use the newer library with this file, or pass another db_path; the file is left untouched");
    if (v < kSchemaVersion) {
        // IMMEDIATE: two processes opening a new file at once must not both migrate it.
        exec(db_, "BEGIN IMMEDIATE", cfg_.path);
        try {
            v = query_int(db_, "PRAGMA user_version", cfg_.path);
            for (; v < kSchemaVersion; ++v) exec(db_, kMigrations[v], cfg_.path);
            exec(db_, fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str(), cfg_.path);
            exec(db_, "COMMIT", cfg_.path);
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
    // The install id is random, made once per buffer file: never a hardware id.
    // Read first: opening an existing buffer writes nothing (no fsync in tt_open).
    auto read_install_id = [&] {
        Stmt get(db_, "SELECT value FROM meta WHERE key='install_id'", cfg_.path);
        if (sqlite3_step(get.get()) == SQLITE_ROW)
            install_id_ = reinterpret_cast<const char *>(sqlite3_column_text(get.get(), 0));
    };
    read_install_id();
    if (install_id_.empty()) {
        Stmt ins(db_, "INSERT OR IGNORE INTO meta(key, value) VALUES('install_id', ?)", cfg_.path);
        std::string fresh = ids::uuid4();
        sqlite3_bind_text(ins.get(), 1, fresh.c_str(), -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(ins.get());
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "tt_open: writing the install id", cfg_.path);
        read_install_id();  // another process may have won the race: use the stored one
    }
    session_ = 0;  // the session row is written by the writer thread, with the first batch
}

// Inside the writer's first transaction: this process's session row.
void Store::ensure_session() {
    if (session_) return;
    Stmt ses(db_, "INSERT INTO sessions(uuid, started_ns, app_name, app_version, pid) VALUES(?,?,?,?,?)", cfg_.path);
    sqlite3_bind_text(ses.get(), 1, cfg_.session_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ses.get(), 2, static_cast<int64_t>(clock::realtime_ns()));
    sqlite3_bind_text(ses.get(), 3, cfg_.app_name.c_str(), -1, SQLITE_STATIC);
    if (!cfg_.app_version.empty()) sqlite3_bind_text(ses.get(), 4, cfg_.app_version.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ses.get(), 5, getpid());
    int rc = sqlite3_step(ses.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "recording the session", cfg_.path);
    session_ = sqlite3_last_insert_rowid(db_);
}

void Store::recover(const char *why) {
    close_writer();
    std::string to = move_aside(cfg_.path);
    open_writer();  // a second failure here is a real error: let it propagate (session_ is reset)
    recovered_to_ = to;
    corrupt_recovered.fetch_add(1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    note_problem(Error(TT_ECORRUPT, fmt::format("the buffer was damaged ({}); it was moved to \"{}\" and a fresh one started", why, to),
                       "nothing to do; keep the moved file if support asks for it"));
}

void Store::note_problem(const Error &e) {
    std::lock_guard<std::mutex> lk(reader_mu_);
    problem_ = e.what();
}

std::string Store::last_problem() {
    std::lock_guard<std::mutex> lk(reader_mu_);
    return problem_;
}

void Store::recover_if_requested() {
    if (recover_requested_.exchange(false, std::memory_order_acq_rel))
        recover("SQLite reported the file as malformed while reading it");
}

void Store::begin() {
    recover_if_requested();
    batch_n_ = 0;
    batch_failed_ = false;
    int rc = sqlite3_step(begin_.get());
    sqlite3_reset(begin_.get());
    in_batch_ = rc == SQLITE_DONE;
    if (in_batch_) {
        try {
            ensure_session();
        } catch (const Error &e) {
            batch_failed_ = true;
            note_problem(e);
        }
    }
    if (!in_batch_) {
        batch_failed_ = true;
        Error e = sqlite_error(db_, rc, "writing events", cfg_.path);
        note_problem(e);
        if (is_corrupt(rc)) recover(e.what());
    }
}

void Store::add(const queue::EventView &e) {
    ++batch_n_;
    if (batch_failed_) return;
    sqlite3_stmt *s = insert_.get();
    sqlite3_bind_int64(s, 1, static_cast<int64_t>(e.time_ns));
    sqlite3_bind_int(s, 2, e.level);
    sqlite3_bind_int64(s, 3, e.tid);
    sqlite3_bind_int64(s, 4, session_);
    sqlite3_bind_text(s, 5, e.msg.data(), static_cast<int>(e.msg.size()), SQLITE_STATIC);
    if (!e.attrs_json.empty()) sqlite3_bind_text(s, 6, e.attrs_json.data(), static_cast<int>(e.attrs_json.size()), SQLITE_STATIC);
    if (!e.trace_id.empty()) sqlite3_bind_text(s, 7, e.trace_id.data(), static_cast<int>(e.trace_id.size()), SQLITE_STATIC);
    if (!e.span_id.empty()) sqlite3_bind_text(s, 8, e.span_id.data(), static_cast<int>(e.span_id.size()), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    insert_.reset();
    if (rc != SQLITE_DONE) {
        batch_failed_ = true;
        note_problem(sqlite_error(db_, rc, "writing events", cfg_.path));
    }
}

namespace {
void bind_text_or_null(sqlite3_stmt *s, int i, std::string_view v) {
    if (!v.empty()) sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
}  // namespace

void Store::add_request(const queue::RequestView &r) {
    using namespace queue;
    ++batch_n_;
    if (batch_failed_) return;
    const RequestFixed &f = *r.fixed;
    sqlite3_stmt *s = insert_request_.get();
    bind_text_or_null(s, 1, r.trace_id);
    bind_text_or_null(s, 2, r.span_id);
    bind_text_or_null(s, 3, r.parent_span_id);
    sqlite3_bind_text(s, 4, f.kind ? "span" : "http", -1, SQLITE_STATIC);
    bind_text_or_null(s, 5, r.str[kName]);
    bind_text_or_null(s, 6, r.str[kMethod]);
    bind_text_or_null(s, 7, r.str[kScheme]);
    bind_text_or_null(s, 8, r.str[kHost]);
    if (f.port) sqlite3_bind_int(s, 9, f.port);
    bind_text_or_null(s, 10, r.str[kPath]);
    sqlite3_bind_int64(s, 11, static_cast<int64_t>(f.start_ns));
    sqlite3_bind_int64(s, 12, static_cast<int64_t>(f.duration_ns));
    if (f.kind == 0) sqlite3_bind_int(s, 13, f.status);
    bind_text_or_null(s, 14, r.str[kError]);
    if (f.bytes_up) sqlite3_bind_int64(s, 15, static_cast<int64_t>(f.bytes_up));
    if (f.bytes_down) sqlite3_bind_int64(s, 16, static_cast<int64_t>(f.bytes_down));
    bind_text_or_null(s, 17, r.server_ids_json);
    timing_.clear();
    if (f.timing_us[kTotal] >= 0) {
        static const char *names[kTimings] = {"dns_us", "connect_us", "tls_us", "first_byte_us", "total_us"};
        timing_ = "{";
        for (int i = 0; i < kTimings; ++i)
            if (f.timing_us[i] >= 0) timing_ += fmt::format("{}\"{}\":{}", timing_.size() > 1 ? "," : "", names[i], f.timing_us[i]);
        timing_ += "}";
    }
    bind_text_or_null(s, 18, timing_);
    bind_text_or_null(s, 19, r.str[kServerIp]);
    if (f.server_port) sqlite3_bind_int(s, 20, f.server_port);
    sqlite3_bind_int64(s, 21, r.tid);
    sqlite3_bind_int64(s, 22, session_);
    int rc = sqlite3_step(s);
    insert_request_.reset();
    if (rc != SQLITE_DONE) {
        batch_failed_ = true;
        note_problem(sqlite_error(db_, rc, "writing requests", cfg_.path));
        return;
    }
    int64_t id = sqlite3_last_insert_rowid(db_);
    sqlite3_stmt *ri = insert_request_id_.get();
    for (size_t i = 0; i < r.n_ids; ++i) {
        sqlite3_bind_int64(ri, 1, id);
        bind_text_or_null(ri, 2, r.id_pairs[2 * i]);
        sqlite3_bind_text(ri, 3, r.id_pairs[2 * i + 1].data(), static_cast<int>(r.id_pairs[2 * i + 1].size()), SQLITE_STATIC);
        rc = sqlite3_step(ri);
        insert_request_id_.reset();
        if (rc != SQLITE_DONE) {
            batch_failed_ = true;
            note_problem(sqlite_error(db_, rc, "writing request ids", cfg_.path));
            return;
        }
    }
}

// Requests that started before `time_ns` go, with their ids.
void Store::evict_requests_before(int64_t time_ns) {
    exec(db_,
         fmt::format("DELETE FROM request_ids WHERE request IN (SELECT id FROM requests WHERE start_ns < {0});"
                     "DELETE FROM requests WHERE start_ns < {0}",
                     time_ns)
             .c_str(),
         cfg_.path);
}

uint64_t Store::commit() {
    if (!in_batch_) {
        store_errors.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    in_batch_ = false;
    int rc = SQLITE_DONE;
    if (!batch_failed_) {
        rc = sqlite3_step(commit_.get());
        sqlite3_reset(commit_.get());
        if (rc == SQLITE_DONE) {
            enforce_size();
            return batch_n_;
        }
        note_problem(sqlite_error(db_, rc, "committing events", cfg_.path));
    }
    // The batch is lost (disk full, I/O error): roll back and go on; the caller counts it.
    store_errors.fetch_add(1, std::memory_order_relaxed);
    int err = sqlite3_errcode(db_);
    if (sqlite3_get_autocommit(db_) == 0) {
        sqlite3_step(rollback_.get());
        sqlite3_reset(rollback_.get());
    }
    if (is_corrupt(err) || is_corrupt(rc)) recover("SQLite reported the file as malformed while writing");
    return 0;
}

void Store::interrupt() noexcept {
    interrupted_.store(true, std::memory_order_relaxed);
    if (db_) sqlite3_interrupt(db_);
}

void Store::idle() {
    recover_if_requested();
    uint64_t now = clock::monotonic_ns();
    if (last_age_check_ns_ == 0 || now - last_age_check_ns_ > 60'000'000'000ull) {
        last_age_check_ns_ = now;
        try {
            enforce_age();
        } catch (const Error &e) {
            note_problem(e);
        }
    }
}

// Used bytes over the cap: delete the oldest events down to 90 % of it. Freed pages are
// reused by new events, so the file stays near the cap; it only shrinks (incremental
// vacuum) when it is well above the cap, e.g. after the cap was lowered.
void Store::enforce_size() {
    try {
        for (int round = 0; round < 8; ++round) {
            uint64_t pages = static_cast<uint64_t>(query_int(db_, "PRAGMA page_count", cfg_.path));
            uint64_t free_pages = static_cast<uint64_t>(query_int(db_, "PRAGMA freelist_count", cfg_.path));
            uint64_t psize = static_cast<uint64_t>(query_int(db_, "PRAGMA page_size", cfg_.path));
            uint64_t used = (pages - free_pages) * psize;
            // A report being assembled reads the recent events: let it finish first
            // (seconds), unless the file is far over its cap.
            if (used <= 2 * cfg_.max_bytes &&
                query_int(db_, "SELECT count(*) FROM reports WHERE state='assembling'", cfg_.path) > 0)
                return;
            if (used <= cfg_.max_bytes) {
                if (pages * psize > cfg_.max_bytes + cfg_.max_bytes / 10 && free_pages > 0)
                    exec(db_, "PRAGMA incremental_vacuum", cfg_.path);
                return;
            }
            uint64_t target = cfg_.max_bytes - cfg_.max_bytes / 10;
            double share = static_cast<double>(used - target) / static_cast<double>(used);
            int64_t lo = query_int(db_, "SELECT coalesce(min(id),0) FROM events", cfg_.path);
            int64_t hi = query_int(db_, "SELECT coalesce(max(id),0) FROM events", cfg_.path);
            if (hi >= lo && hi > 0) {
                int64_t k = static_cast<int64_t>(static_cast<double>(hi - lo + 1) * share) + 1;
                Stmt del(db_, "DELETE FROM events WHERE id < ?", cfg_.path);
                sqlite3_bind_int64(del.get(), 1, lo + k);
                int rc = sqlite3_step(del.get());
                if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "retention", cfg_.path);
                evicted.fetch_add(static_cast<uint64_t>(sqlite3_changes(db_)), std::memory_order_relaxed);
                // Requests go with the events of their time.
                int64_t oldest = query_int(db_, "SELECT coalesce((SELECT time_ns FROM events ORDER BY id LIMIT 1), 0)", cfg_.path);
                if (oldest) evict_requests_before(oldest);
            } else {
                // No events left: the requests themselves are over the cap.
                int64_t rlo = query_int(db_, "SELECT coalesce(min(id),0) FROM requests", cfg_.path);
                int64_t rhi = query_int(db_, "SELECT coalesce(max(id),0) FROM requests", cfg_.path);
                if (rhi < rlo || rhi == 0) return;  // nothing of ours left to delete
                int64_t k = static_cast<int64_t>(static_cast<double>(rhi - rlo + 1) * share) + 1;
                exec(db_, fmt::format("DELETE FROM request_ids WHERE request < {0}; DELETE FROM requests WHERE id < {0}", rlo + k).c_str(),
                     cfg_.path);
            }
        }
    } catch (const Error &e) {
        note_problem(e);
    }
}

// Delete events older than max_age_s. Ids grow with time (within a batch's span: one
// thread's records are inserted before the next thread's), so a binary search over ids
// finds the cut without an index on time_ns, give or take one commit interval.
void Store::enforce_age() {
    int64_t cutoff = static_cast<int64_t>(clock::realtime_ns()) - static_cast<int64_t>(cfg_.max_age_s) * 1'000'000'000ll;
    Stmt at(db_, "SELECT id, time_ns FROM events WHERE id >= ? ORDER BY id LIMIT 1", cfg_.path);
    auto probe = [&](int64_t id, int64_t &found_id) -> int64_t {
        sqlite3_reset(at.get());
        sqlite3_bind_int64(at.get(), 1, id);
        if (sqlite3_step(at.get()) != SQLITE_ROW) return INT64_MAX;
        found_id = sqlite3_column_int64(at.get(), 0);
        return sqlite3_column_int64(at.get(), 1);
    };
    int64_t lo = query_int(db_, "SELECT coalesce(min(id),0) FROM events", cfg_.path);
    int64_t hi = query_int(db_, "SELECT coalesce(max(id),0) FROM events", cfg_.path) + 1;
    int64_t id = 0;
    evict_requests_before(cutoff);
    if (probe(lo, id) >= cutoff) return;
    while (lo + 1 < hi) {  // invariant: event at lo is old; events at >= hi are new (or absent)
        int64_t mid = lo + (hi - lo) / 2;
        int64_t found = mid;
        if (probe(mid, found) < cutoff) lo = found;
        else hi = mid;
    }
    at = Stmt();
    Stmt del(db_, "DELETE FROM events WHERE id <= ?", cfg_.path);
    sqlite3_bind_int64(del.get(), 1, lo);
    int rc = sqlite3_step(del.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "age retention", cfg_.path);
    evicted.fetch_add(static_cast<uint64_t>(sqlite3_changes(db_)), std::memory_order_relaxed);
}

Snapshot Store::snapshot() {
    std::lock_guard<std::mutex> lk(reader_mu_);
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (reader_ && reader_gen_ != gen) {
        sqlite3_close_v2(reader_);
        reader_ = nullptr;
    }
    if (!reader_) {
        int rc = sqlite3_open_v2(cfg_.path.c_str(), &reader_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            Error e = sqlite_error(reader_, rc, "tt_stats_get", cfg_.path);
            sqlite3_close_v2(reader_);
            reader_ = nullptr;
            throw e;
        }
        sqlite3_busy_timeout(reader_, kBusyTimeoutMs);
        reader_gen_ = gen;
    }
    Snapshot s;
    try {
        s.events = static_cast<uint64_t>(query_int(reader_, "SELECT count(*) FROM events", cfg_.path));
        s.requests = static_cast<uint64_t>(query_int(reader_, "SELECT count(*) FROM requests", cfg_.path));
        s.db_bytes = static_cast<uint64_t>(query_int(reader_, "PRAGMA page_count", cfg_.path) *
                                           query_int(reader_, "PRAGMA page_size", cfg_.path));
    } catch (const Error &e) {
        if (e.code() != TT_ECORRUPT) throw;
        request_recovery();  // the writer moves the file aside; the next call sees the new one
        throw Error(TT_ECORRUPT,
                    fmt::format("tt_stats_get: the buffer \"{}\" is damaged; it is being moved aside and a fresh one started", cfg_.path),
                    "call again in a moment: logging goes on, and the damaged file is kept next to the buffer for support");
    }
    s.pending_upload = static_cast<uint64_t>(query_int(
        reader_, "SELECT count(*) FROM events WHERE id > coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key='upload_cursor_logs'), 0)",
        cfg_.path));
    s.reports_pending = static_cast<uint64_t>(
        query_int(reader_, "SELECT count(*) FROM reports WHERE state IN ('assembling', 'pending')", cfg_.path));
    return s;
}

}  // namespace tt::store
