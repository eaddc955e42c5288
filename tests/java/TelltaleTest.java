import com.sun.net.httpserver.HttpServer;
import io.telltale.Client;
import io.telltale.TelltaleException;
import io.telltale.TelltaleHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Plain test main: every check throws AssertionError with what went wrong; exit code 1 then. */
public class TelltaleTest {
    static Path dir;
    static int checks;

    static void check(boolean ok, String what) {
        checks++;
        if (!ok) throw new AssertionError("FAILED: " + what);
    }

    static String db(String name) throws IOException {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        return d.resolve("app.db").toString();
    }

    interface Body { void run() throws Exception; }

    static TelltaleException expect(String code, Body b) throws Exception {
        try {
            b.run();
        } catch (TelltaleException e) {
            check(e.code().equals(code), "expected " + code + ", got " + e);
            check(!e.message().isEmpty(), "message of " + code);
            return e;
        }
        throw new AssertionError("FAILED: expected TelltaleException " + code + ", nothing thrown");
    }

    static void logTenThousand() throws Exception {
        try (Client c = Client.builder(db("10k"), "java-test").blockWhenFull(true).build()) {
            for (int i = 0; i < 10_000; i++) check(c.info("event", Map.of("i", i)), "queued");
            c.flush(Duration.ofSeconds(30));
            Map<String, Long> s = c.stats();
            check(s.get("logged") == 10_000, "logged == 10000: " + s);
            check(s.get("logged") == s.get("stored") + s.get("dropped"), "logged == stored + dropped: " + s);
            check(s.get("stored") == 10_000, "stored == 10000: " + s);
            check(s.get("events") >= 10_000, "events: " + s);
        }
    }

    static void handler() throws Exception {
        try (Client c = Client.builder(db("handler"), "java-test").build()) {
            Logger log = Logger.getLogger("telltale.test");
            log.setUseParentHandlers(false);
            log.setLevel(Level.ALL);
            TelltaleHandler h = new TelltaleHandler(c);
            log.addHandler(h);
            log.info("hello");
            log.log(Level.WARNING, "user {0} failed", "u-1");
            log.log(Level.SEVERE, "it broke", new IllegalStateException("bad state"));
            log.fine("details");
            log.removeHandler(h);
            c.flush();
            check(c.stats().get("stored") == 4, "4 records stored: " + c.stats());
        }
    }

    static void consentGating() throws Exception {
        AtomicInteger logsPosts = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            if (ex.getRequestMethod().equals("POST") && ex.getRequestURI().getPath().equals("/v1/logs"))
                logsPosts.incrementAndGet();
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try (Client c = Client.builder(db("consent"), "java-test")
                 .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                 .uploadInterval(Duration.ofMillis(100)).retryBase(Duration.ofMillis(50)).build()) {
            check(c.consent() == Client.Consent.UNKNOWN, "consent starts unknown");
            for (int i = 0; i < 100; i++) c.info("gated");
            c.flush();
            TelltaleException e = expect("TT_ENOCONSENT", () -> c.uploadFlush(Duration.ofSeconds(1)));
            check(!e.hint().isEmpty(), "ENOCONSENT has a hint");
            Thread.sleep(1000);
            check(logsPosts.get() == 0, "no POST to /v1/logs while consent is unknown: " + logsPosts.get());
            c.setConsent(Client.Consent.GRANTED);
            check(c.consent() == Client.Consent.GRANTED, "granted");
            c.flush();
            c.uploadFlush(Duration.ofSeconds(15));
            check(logsPosts.get() >= 1, "POSTs after granting: " + logsPosts.get());
            check(c.stats().get("uploaded") >= 100, "uploaded: " + c.stats());
        } finally {
            server.stop(0);
        }
    }

    static void reports() throws Exception {
        Path att = dir.resolve("notes.txt");
        Files.writeString(att, "hello");
        Path tar = dir.resolve("report.tar");
        try (Client c = Client.builder(db("report"), "java-test").build()) {
            c.error("upload failed");
            String id = c.report("upload fails", "me@example.com", att.toString());
            check(id.length() == 36, "report id is 36 characters: " + id);
            String id2 = c.exportReport(tar.toString(), "export", null, att.toString());
            check(id2.length() == 36 && !id2.equals(id), "export id");
            String raw = new String(Files.readAllBytes(tar), StandardCharsets.ISO_8859_1);
            check(raw.contains("manifest.json") && raw.contains("logs.ndjson.zst") && raw.contains("attachments/notes.txt"),
                  "tar holds the parts");
            TelltaleException e = expect("TT_EIO", () -> c.exportReport(dir.resolve("no-such-dir/r.tar").toString(), "x"));
            check(e.message().contains("no-such-dir") && !e.hint().isEmpty(), "EIO names the path and hints: " + e);
        }
    }

    // Poll a report until it leaves PENDING (or 20 s pass).
    static Client.ReportStatus settle(Client c, String id) throws Exception {
        Client.ReportStatus st = c.reportStatus(id);
        for (int waited = 0; st.state() == Client.ReportState.PENDING && waited < 20_000; waited += 20) {
            Thread.sleep(20);
            st = c.reportStatus(id);
        }
        return st;
    }

    static void reportStatus() throws Exception {
        try (Client c = Client.builder(db("status"), "java-test").build()) {
            String id = c.report("no endpoint: it waits");
            Client.ReportStatus st = c.reportStatus(id);
            check(st.state() == Client.ReportState.PENDING, "PENDING without an endpoint: " + st);
            check(st.reason().isEmpty(), "no reason while pending: " + st);
            String exported = c.exportReport(dir.resolve("status.tar").toString(), "exported");
            check(c.reportStatus(exported).state() == Client.ReportState.SENT, "an exported report counts as SENT");
            TelltaleException e = expect("TT_ENOTFOUND", () -> c.reportStatus("123e4567-e89b-42d3-a456-426614174000"));
            check(e.message().contains("123e4567-e89b-42d3-a456-426614174000") && !e.hint().isEmpty(),
                  "ENOTFOUND names the id and hints: " + e);
            check(e.status() == -10, "status -10");
            expect("TT_EINVAL", () -> c.reportStatus(null));
        }

        // Against a loopback backend: 200 with a notice (SENT, notice kept), then 400 (FAILED, why).
        AtomicInteger answer = new AtomicInteger(200);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            boolean reports = ex.getRequestURI().getPath().equals("/v1/reports");
            int code = reports ? answer.get() : 200;
            String text = !reports ? "{}" : code == 200 ? "{\"notice\":\"Known: uploads fail \u00e9 \ud83d\ude80\"}"
                                                         : "{\"error\":\"injected\"}";
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(code, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try (Client c = Client.builder(db("status-net"), "java-test")
                 .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                 .uploadInterval(Duration.ofMillis(50)).retryBase(Duration.ofMillis(10)).build()) {
            check(c.notice().isEmpty(), "no notice before any answer");
            Client.ReportStatus sent = settle(c, c.report("sent"));
            check(sent.state() == Client.ReportState.SENT && sent.reason().isEmpty(), "SENT, no reason: " + sent);
            check(c.notice().equals("Known: uploads fail \u00e9 \ud83d\ude80"), "the report's answer gave the notice, as UTF-8: " + c.notice());
            answer.set(400);
            Client.ReportStatus failed = settle(c, c.report("refused"));
            check(failed.state() == Client.ReportState.FAILED, "FAILED after a 400: " + failed);
            check(failed.reason().equals("the support backend refused it: HTTP 400: {\"error\":\"injected\"}"),
                  "the reason, without the 'report <id> failed: ' prefix: " + failed.reason());
        } finally {
            server.stop(0);
        }
    }

    static void notices() throws Exception {
        AtomicReference<String> status = new AtomicReference<>("{\"notice\":\"Sync is down for some users; a fix is on its way.\"}");
        AtomicInteger code = new AtomicInteger(200);
        List<String> seen = new CopyOnWriteArrayList<>();  // "METHOD path auth=<Authorization or none>"
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " auth=" + (auth == null ? "none" : auth));
            byte[] body = (ex.getRequestURI().getPath().equals("/v1/status") ? status.get() : "{}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(code.get(), body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try (Client c = Client.builder(db("notice"), "java-test")
                 .endpoint("http://127.0.0.1:" + server.getAddress().getPort()).authToken("ingest-secret").build()) {
            check(c.notice().isEmpty(), "no notice yet");
            String n = c.refreshNotice(Duration.ofSeconds(10));
            check(n.equals("Sync is down for some users; a fix is on its way."), "refreshNotice returns the notice: " + n);
            check(c.notice().equals(n), "notice() keeps it: " + c.notice());
            check(seen.equals(List.of("GET /v1/status auth=none")), "one GET /v1/status, no Authorization header: " + seen);

            code.set(503);
            TelltaleException e = expect("TT_ENET", () -> c.refreshNotice(Duration.ofSeconds(10)));
            check(e.message().contains("/v1/status"), "ENET names the URL: " + e);
            check(c.notice().equals(n), "an error leaves the notice as it was: " + c.notice());

            code.set(200);
            status.set("{\"notice\":null}");
            check(c.refreshNotice().isEmpty(), "no notice any more (refreshNotice(), 5 s)");
            check(c.notice().isEmpty(), "notice() is empty again");
            for (String r : seen)
                if (r.startsWith("GET /v1/status ")) check(r.endsWith(" auth=none"), "never a token to /v1/status: " + seen);
            // The control: the same client does send its token with a report, and the server sees it.
            Client.ReportStatus st = settle(c, c.report("with the token"));
            check(st.state() == Client.ReportState.SENT, "report sent: " + st);
            check(seen.contains("POST /v1/reports auth=Bearer ingest-secret"), "a report carries the token: " + seen);
        } finally {
            server.stop(0);
        }
        try (Client c = Client.builder(db("notice-none"), "java-test").authToken("ingest-secret").build()) {
            TelltaleException e = expect("TT_EINVAL", () -> c.refreshNotice(Duration.ofSeconds(1)));
            check(e.message().contains("no endpoint") && !e.hint().isEmpty(), "EINVAL says there is no endpoint: " + e);
            check(c.notice().isEmpty(), "notice() without an endpoint: empty");
        }
    }

    static void badPath() throws Exception {
        String bad = dir.resolve("no-such-dir/deeper/app.db").toString();
        TelltaleException e = expect("TT_ESTORE", () -> Client.builder(bad, "java-test").build());
        check(e.status() == -3, "status -3");
        check(e.message().contains("no-such-dir"), "message names the path: " + e.message());
        check(!e.hint().isEmpty(), "hint from the library");
        check(e.doc().startsWith("docs/errors.md#"), "doc link");
        check(e.getMessage().contains("TT_ESTORE") && e.getMessage().contains(e.hint()), "getMessage");
        expect("TT_EINVAL", () -> Client.builder(db("noname"), null).build());
    }

    static void afterClose() throws Exception {
        Client c = Client.builder(db("closed"), "java-test").build();
        c.close();
        c.close();
        check(c.isClosed(), "closed");
        expect("TT_EMISUSE", () -> c.info("x"));
        expect("TT_EMISUSE", () -> c.log(Client.INFO, "x", Map.of("k", "v")));
        expect("TT_EMISUSE", c::flush);
        expect("TT_EMISUSE", c::stats);
        expect("TT_EMISUSE", c::consent);
        expect("TT_EMISUSE", () -> c.setConsent(Client.Consent.GRANTED));
        expect("TT_EMISUSE", () -> c.uploadFlush(Duration.ofSeconds(1)));
        expect("TT_EMISUSE", () -> c.report("x"));
        expect("TT_EMISUSE", () -> c.exportReport(dir.resolve("r2.tar").toString(), "x"));
        expect("TT_EMISUSE", () -> c.reportStatus("123e4567-e89b-42d3-a456-426614174000"));
        TelltaleException e = expect("TT_EMISUSE", c::notice);
        check(e.status() == -2 && e.message().contains("notice"), "EMISUSE names the call: " + e);
        expect("TT_EMISUSE", c::refreshNotice);
        expect("TT_EMISUSE", () -> c.refreshNotice(Duration.ofSeconds(1)));
        Logger log = Logger.getLogger("telltale.closed");
        log.setUseParentHandlers(false);
        log.addHandler(new TelltaleHandler(c));
        log.info("after close: reported to the ErrorManager, not thrown");
    }

    public static void main(String[] args) throws Exception {
        dir = Files.createTempDirectory("telltale-java");
        try {
            System.out.println("telltale " + Client.libraryVersion());
            logTenThousand();
            handler();
            consentGating();
            reports();
            reportStatus();
            notices();
            badPath();
            afterClose();
            System.out.println("OK: " + checks + " checks");
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
