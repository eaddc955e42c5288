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
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
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
