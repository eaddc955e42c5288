// A loopback OTLP/HTTP receiver for the upload tests, on raw sockets so it can
// misbehave on purpose: answer 500/503/429/413, reset in the middle of a body, stall,
// drip its answer a byte at a time, or store a batch and then drop the connection
// (so the client retries a batch the server already has). It decodes zstd and gzip
// bodies and keeps every accepted body, with its X-Telltale-Batch id.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tt_test {

struct Received {
    std::string path, batch, encoding, auth, content_type;
    std::string raw;   // the body as sent
    std::string json;  // decoded
    bool duplicate = false;  // its batch id was accepted before
};

enum class Fault { kNone, kStatus, kResetMidBody, kStall, kDrip, kStoreThenReset };

struct Plan {
    Fault fault = Fault::kNone;
    int status = 200;
    std::string extra_headers;  // "Retry-After: 1\r\n"
    int stall_ms = 0;
    std::string body;  // the answer's body; "" : "{}" for 2xx, an error object otherwise
};

inline std::string decode_body(const std::string &enc, const std::string &raw) {
    if (enc == "zstd") {
        unsigned long long n = ZSTD_getFrameContentSize(raw.data(), raw.size());
        if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (256u << 20)) return {};
        std::string out(n, '\0');
        size_t got = ZSTD_decompress(out.data(), out.size(), raw.data(), raw.size());
        if (ZSTD_isError(got)) return {};
        out.resize(got);
        return out;
    }
    if (enc == "gzip") {
        z_stream z{};
        inflateInit2(&z, 16 + MAX_WBITS);
        std::string out;
        char buf[65536];
        z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(raw.data()));
        z.avail_in = static_cast<uInt>(raw.size());
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
    return raw;
}

class OtlpServer {
public:
    // port 0: any free port.
    explicit OtlpServer(int port = 0) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        if (bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd_, 64) != 0) {
            close(fd_);
            fd_ = -1;
            return;
        }
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
        port_ = ntohs(a.sin_port);
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~OtlpServer() { stop(); }
    void stop() {
        if (fd_ < 0 || stopped_) return;
        stopped_ = true;
        stopping_ = true;
        shutdown(fd_, SHUT_RDWR);  // accept() returns; fd_ itself stays untouched until the join
        accept_thread_.join();
        close(fd_);
        std::vector<std::thread> ts;
        {
            std::lock_guard<std::mutex> lk(mu_);
            for (int c : conns_) shutdown(c, SHUT_RDWR);
            ts.swap(threads_);
        }
        for (auto &t : ts) t.join();
    }
    bool ok() const { return fd_ >= 0; }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Decides what to do with each request (called with its number, from 0, and path).
    void set_plan(std::function<Plan(int n, const std::string &path, const std::string &json)> p) {
        std::lock_guard<std::mutex> lk(mu_);
        plan_ = std::move(p);
    }
    int requests() const { return requests_.load(); }
    std::vector<Received> accepted() {
        std::lock_guard<std::mutex> lk(mu_);
        return accepted_;
    }

private:
    void accept_loop() {
        while (!stopping_) {
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) {
                if (stopping_) return;
                continue;
            }
            std::lock_guard<std::mutex> lk(mu_);
            conns_.push_back(c);
            threads_.emplace_back([this, c] { serve(c); });
        }
    }

    static bool read_until(int c, std::string &buf, const char *marker) {
        char tmp[65536];
        while (buf.find(marker) == std::string::npos) {
            ssize_t n = recv(c, tmp, sizeof tmp, 0);
            if (n <= 0) return false;
            buf.append(tmp, static_cast<size_t>(n));
        }
        return true;
    }

    static void send_all(int c, const std::string &s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return;
            off += static_cast<size_t>(n);
        }
    }

    static void reset(int c) {
        linger l{1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        shutdown(c, SHUT_RDWR);
    }

    void serve(int c) {
        std::string buf;
        for (;;) {
            if (!read_until(c, buf, "\r\n\r\n")) break;
            size_t hdr_end = buf.find("\r\n\r\n");
            std::string head = buf.substr(0, hdr_end);
            buf.erase(0, hdr_end + 4);
            std::string path = head.substr(head.find(' ') + 1);
            path = path.substr(0, path.find(' '));
            auto header = [&](const char *name) -> std::string {
                std::string lower_head = head;
                for (auto &ch : lower_head) ch = static_cast<char>(tolower(ch));
                std::string key = std::string("\r\n") + name + ":";
                auto at = lower_head.find(key);
                if (at == std::string::npos) return {};
                auto start = at + key.size();
                auto end = head.find("\r\n", start);
                std::string v = head.substr(start, end - start);
                while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                return v;
            };
            size_t len = static_cast<size_t>(std::atol(header("content-length").c_str()));
            int n = requests_++;
            Plan plan;
            std::function<Plan(int, const std::string &, const std::string &)> planner;
            {
                std::lock_guard<std::mutex> lk(mu_);
                planner = plan_;
            }
            // Reset in the middle of the body: read a part, then RST.
            if (planner) {
                Plan early = planner(n, path, "");
                if (early.fault == Fault::kResetMidBody) {
                    char tmp[1024];
                    if (buf.size() < len / 2) recv(c, tmp, sizeof tmp, 0);
                    reset(c);
                    break;
                }
            }
            while (buf.size() < len) {
                char tmp[65536];
                ssize_t got = recv(c, tmp, sizeof tmp, 0);
                if (got <= 0) goto done;
                buf.append(tmp, static_cast<size_t>(got));
            }
            {
                Received r;
                r.path = path;
                r.batch = header("x-telltale-batch");
                r.encoding = header("content-encoding");
                r.auth = header("authorization");
                r.content_type = header("content-type");
                r.raw = buf.substr(0, len);
                buf.erase(0, len);
                r.json = decode_body(r.encoding, r.raw);
                if (planner) plan = planner(n, path, r.json);
                bool store = plan.fault == Fault::kNone || plan.fault == Fault::kStoreThenReset || plan.fault == Fault::kDrip ||
                             (plan.fault == Fault::kStatus && plan.status >= 200 && plan.status < 300);
                if (plan.fault == Fault::kStall) {
                    for (int waited = 0; waited < plan.stall_ms && !stopping_; waited += 10)
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    reset(c);
                    break;
                }
                if (store) {
                    std::lock_guard<std::mutex> lk(mu_);
                    for (auto &a : accepted_)
                        if (a.batch == r.batch && !r.batch.empty()) r.duplicate = true;
                    accepted_.push_back(std::move(r));
                }
                if (plan.fault == Fault::kStoreThenReset) {
                    reset(c);
                    break;
                }
                int status = plan.fault == Fault::kStatus ? plan.status : 200;
                std::string body = !plan.body.empty() ? plan.body : status < 300 ? "{}" : "{\"error\":\"injected\"}";
                std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" + plan.extra_headers +
                                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
                if (plan.fault == Fault::kDrip) {
                    for (char ch : resp) {
                        send_all(c, std::string(1, ch));
                        std::this_thread::sleep_for(std::chrono::milliseconds(plan.stall_ms));
                        if (stopping_) break;
                    }
                } else {
                    send_all(c, resp);
                }
            }
        }
    done:
        {
            std::lock_guard<std::mutex> lk(mu_);  // forget it before close: the number may be reused
            for (auto it = conns_.begin(); it != conns_.end(); ++it)
                if (*it == c) {
                    conns_.erase(it);
                    break;
                }
        }
        close(c);
    }

    int fd_ = -1, port_ = 0;
    bool stopped_ = false;
    std::atomic<bool> stopping_{false};
    std::atomic<int> requests_{0};
    std::thread accept_thread_;
    std::mutex mu_;
    std::vector<int> conns_;
    std::vector<std::thread> threads_;
    std::vector<Received> accepted_;
    std::function<Plan(int, const std::string &, const std::string &)> plan_;
};

}  // namespace tt_test
