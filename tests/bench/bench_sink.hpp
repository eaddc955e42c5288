// A loopback receiver for the upload and report benchmarks, in a child process of its
// own, so that the CPU time the benchmark reads for this process (CLOCK_PROCESS_CPUTIME_ID)
// is the library's and the app's alone, not the server's.
//
// Plain sockets on 127.0.0.1, HTTP/1.1 keep-alive, one thread per connection (the
// uploader and the report sender each keep one). Like a real collector it answers
// "Expect: 100-continue" at once, reads the whole body, decodes it (zstd, gzip or
// identity) and checks it before it answers 200:
//   /v1/logs, /v1/traces   counts requests, header and body bytes, decoded JSON bytes and
//                          the records in it ("severityNumber" once per log record,
//                          "startTimeUnixNano" once per span); answers {}
//   /v1/reports            multipart/form-data: the sizes of the `manifest` and `logs`
//                          parts; the logs part is unpacked (zstd) and its lines counted;
//                          answers {"report_id": ..., "notice": ""}
// Counters live in a shared anonymous mapping (lock-free 64-bit atomics work across
// processes on x86-64); the parent reads deltas around what it times. The child also
// stores its own CPU time there after every request.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace ttb {

struct SinkPath {
    std::atomic<uint64_t> requests, header_bytes, body_bytes, decoded_bytes, records, bad, expect_100;
};

struct SinkCounters {
    SinkPath logs, traces, reports;
    // The last report received (multipart parts) and its logs unpacked.
    std::atomic<uint64_t> report_manifest_bytes, report_logs_bytes, report_logs_ndjson_bytes, report_logs_lines;
    std::atomic<uint64_t> cpu_ns;  // the receiver process's CPU time, after its last answer
};

class Sink {
public:
    // Binds 127.0.0.1:<any>, forks the receiver. Aborts on failure.
    Sink() {
        void *m = mmap(nullptr, sizeof(SinkCounters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) fail("mmap");
        c_ = new (m) SinkCounters();
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd, 64) != 0) fail("bind/listen");
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
        port_ = ntohs(a.sin_port);
        pid_t parent = getpid();
        pid_ = fork();
        if (pid_ < 0) fail("fork");
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
            if (getppid() != parent) _exit(0);
            serve(fd);  // never returns
        }
        close(fd);
        url_ = "http://127.0.0.1:" + std::to_string(port_);
    }
    ~Sink() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        munmap(c_, sizeof(SinkCounters));
    }
    Sink(const Sink &) = delete;
    Sink &operator=(const Sink &) = delete;

    const std::string &url() const { return url_; }
    const SinkCounters &counters() const { return *c_; }

private:
    [[noreturn]] static void fail(const char *what) {
        perror(what);
        abort();
    }

    [[noreturn]] void serve(int fd) {
        for (;;) {
            int c = accept(fd, nullptr, nullptr);
            if (c < 0) continue;
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            std::thread([this, c] { connection(c); }).detach();
        }
    }

    static bool send_all(int c, const char *p, size_t n) {
        while (n) {
            ssize_t k = send(c, p, n, MSG_NOSIGNAL);
            if (k <= 0) return false;
            p += k;
            n -= size_t(k);
        }
        return true;
    }

    static std::string header(const std::string &head, const char *name) {  // name in lower case, with ':'
        std::string low = head;
        for (auto &ch : low) ch = char(tolower(ch));
        size_t at = low.find(std::string("\r\n") + name);
        if (at == std::string::npos) return {};
        size_t b = at + 2 + strlen(name), e = head.find("\r\n", b);
        std::string v = head.substr(b, e - b);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        return v;
    }

    static std::string unzstd(const char *p, size_t n) {
        unsigned long long sz = ZSTD_getFrameContentSize(p, n);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > (1ull << 30)) return {};
        std::string out(sz, '\0');
        size_t got = ZSTD_decompress(out.data(), out.size(), p, n);
        if (ZSTD_isError(got)) return {};
        out.resize(got);
        return out;
    }

    static std::string gunzip(const std::string &in) {
        z_stream z{};
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return {};
        std::string out;
        char buf[1 << 16];
        z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
        z.avail_in = uInt(in.size());
        int rc;
        do {
            z.next_out = reinterpret_cast<Bytef *>(buf);
            z.avail_out = sizeof buf;
            rc = inflate(&z, Z_NO_FLUSH);
            out.append(buf, sizeof buf - z.avail_out);
        } while (rc == Z_OK);
        inflateEnd(&z);
        return rc == Z_STREAM_END ? out : std::string();
    }

    static uint64_t count(const std::string &s, const char *needle) {
        uint64_t n = 0;
        size_t len = strlen(needle);
        for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + len)) ++n;
        return n;
    }

    // The report's multipart body: sizes of the manifest and logs parts, the logs unpacked.
    void report(const std::string &head, const std::string &body, SinkPath &p) {
        std::string ct = header(head, "content-type:");
        size_t b = ct.find("boundary=");
        if (b == std::string::npos) {
            p.bad++;
            return;
        }
        std::string delim = "--" + ct.substr(b + 9);
        uint64_t manifest = 0, logs = 0, ndjson = 0, lines = 0;
        for (size_t at = body.find(delim); at != std::string::npos;) {
            size_t hs = at + delim.size();
            if (body.compare(hs, 2, "--") == 0) break;
            size_t he = body.find("\r\n\r\n", hs);
            if (he == std::string::npos) break;
            std::string ph = body.substr(hs, he - hs);
            size_t ds = he + 4;
            size_t next = body.find("\r\n" + delim, ds);
            if (next == std::string::npos) break;
            size_t n = next - ds;
            if (ph.find("name=\"manifest\"") != std::string::npos) manifest = n;
            if (ph.find("name=\"logs\"") != std::string::npos) {
                logs = n;
                std::string nd = unzstd(body.data() + ds, n);
                ndjson = nd.size();
                lines = uint64_t(std::count(nd.begin(), nd.end(), '\n'));
                if (nd.empty()) p.bad++;
            }
            at = next + 2;
        }
        p.decoded_bytes += manifest + ndjson;
        p.records += lines;
        c_->report_manifest_bytes = manifest;
        c_->report_logs_bytes = logs;
        c_->report_logs_ndjson_bytes = ndjson;
        c_->report_logs_lines = lines;
    }

    void connection(int c) {
        std::string buf;
        char tmp[1 << 16];
        for (;;) {
            size_t he;
            while ((he = buf.find("\r\n\r\n")) == std::string::npos) {
                ssize_t n = recv(c, tmp, sizeof tmp, 0);
                if (n <= 0) goto out;
                buf.append(tmp, size_t(n));
            }
            std::string head = buf.substr(0, he + 2);  // keeps the last header's CRLF
            buf.erase(0, he + 4);
            std::string path = head.substr(head.find(' ') + 1);
            path = path.substr(0, path.find(' '));
            SinkPath &p = path == "/v1/logs" ? c_->logs : path == "/v1/traces" ? c_->traces : c_->reports;
            size_t len = size_t(strtoull(header(head, "content-length:").c_str(), nullptr, 10));
            if (strcasecmp(header(head, "expect:").c_str(), "100-continue") == 0) {
                p.expect_100++;
                static const char k100[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (buf.size() < len && !send_all(c, k100, sizeof k100 - 1)) goto out;
            }
            while (buf.size() < len) {
                ssize_t n = recv(c, tmp, sizeof tmp, 0);
                if (n <= 0) goto out;
                buf.append(tmp, size_t(n));
            }
            std::string body = buf.substr(0, len);
            buf.erase(0, len);
            p.requests++;
            p.header_bytes += he + 4;
            p.body_bytes += len;
            std::string answer = "{}";
            if (&p == &c_->reports) {
                report(head, body, p);
                std::string id = header(head, "x-telltale-report:");
                answer = "{\"report_id\":\"" + id + "\",\"notice\":\"\"}";
            } else {
                std::string enc = header(head, "content-encoding:");
                std::string json = enc == "zstd" ? unzstd(body.data(), body.size()) : enc == "gzip" ? gunzip(body) : body;
                if (json.empty() || json.front() != '{') p.bad++;
                p.decoded_bytes += json.size();
                p.records += count(json, &p == &c_->logs ? "\"severityNumber\":" : "\"startTimeUnixNano\":");
            }
            std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(answer.size()) +
                               "\r\n\r\n" + answer;
            timespec ts;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
            c_->cpu_ns = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
            if (!send_all(c, resp.data(), resp.size())) break;
        }
    out:
        close(c);
    }

    SinkCounters *c_ = nullptr;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string url_;
};

}  // namespace ttb
