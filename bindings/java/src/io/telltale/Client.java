package io.telltale;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One telltale buffer (a SQLite file) and its background threads.
 *
 * <pre>
 * try (Client c = Client.builder("app.db", "demo").build()) {
 *     c.info("signed in", Map.of("user", "u-1"));
 *     c.setConsent(Client.Consent.GRANTED);
 *     String id = c.report("upload fails");
 * }
 * </pre>
 * Every failure throws {@link TelltaleException} (code, message, hint); a closed client
 * throws it with code TT_EMISUSE. One Client may be used from any number of threads.
 */
public final class Client implements AutoCloseable {
    public static final int TRACE = 1, DEBUG = 5, INFO = 9, WARN = 13, ERROR = 17, FATAL = 21;

    /** The user's answer to "help improve this app by sharing usage data". */
    public enum Consent { UNKNOWN, GRANTED, DENIED }

    /**
     * Where a report is (tt_report_state): PENDING (being assembled, or waiting for the
     * network or the server), SENT (the backend has it; or it was exported to a file),
     * FAILED (it will not be sent).
     */
    public enum ReportState { PENDING, SENT, FAILED }

    /**
     * What {@link #reportStatus} answers: the state and, for FAILED, why ("vetoed by the
     * app's before_send callback", "dropped: more than 20 reports were waiting to be sent",
     * "the support backend refused it: HTTP 400: ..."); "" for PENDING and SENT.
     */
    public record ReportStatus(ReportState state, String reason) {}

    /** The tt_stats fields, in order. */
    public static final String[] STATS_FIELDS = {
        "logged", "dropped", "stored", "evicted", "uploaded", "upload_failures",
        "reports_pending", "db_bytes", "pending_upload", "truncated", "repaired", "store_errors",
        "corrupt_recovered", "events", "requests", "requests_dropped", "bad_traceparents",
        "headers_capped", "spans_uploaded", "upload_dropped", "upload_bytes"};

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;
    private final Duration closeTimeout;

    /** Options by name; build() opens the client (tt_open). */
    public static final class Builder {
        private final String[] texts = new String[7];
        private final int[] numbers = new int[5];
        private Duration closeTimeout = Duration.ofSeconds(5);

        private Builder(String dbPath, String appName) { texts[0] = dbPath; texts[1] = appName; }
        public Builder appVersion(String v) { texts[2] = v; return this; }
        /** Support backend base URL; none: nothing is ever uploaded. */
        public Builder endpoint(String url) { texts[3] = url; return this; }
        public Builder authToken(String t) { texts[4] = t; return this; }
        public Builder consentPolicyVersion(String v) { texts[5] = v; return this; }
        public Builder requestIdHeaders(String commaSeparated) { texts[6] = commaSeparated; return this; }
        /** Wait for room when this thread's queue is full instead of dropping (never on a UI thread). */
        public Builder blockWhenFull(boolean block) { numbers[0] = block ? 1 : 0; return this; }
        public Builder uploadInterval(Duration d) { numbers[1] = (int) d.toMillis(); return this; }
        public Builder retryBase(Duration d) { numbers[2] = (int) d.toMillis(); return this; }
        /** "zstd" (default), "gzip" or "none". */
        public Builder compression(String codec) {
            numbers[3] = switch (codec) { case "zstd" -> 0; case "gzip" -> 1; case "none" -> 2;
                default -> throw new IllegalArgumentException("compression: zstd, gzip or none"); };
            return this;
        }
        public Builder closeTimeout(Duration d) { closeTimeout = d; return this; }
        public Client build() { return new Client(Native.open(Native.z(texts), numbers.clone()), closeTimeout); }
    }

    public static Builder builder(String dbPath, String appName) { return new Builder(dbPath, appName); }

    private Client(long handle, Duration closeTimeout) {
        this.handle = handle;
        this.closeTimeout = closeTimeout;
    }

    /** "MAJOR.MINOR.PATCH" of the library loaded. */
    public static String libraryVersion() { return Native.version(); }

    /** The device's network changed: every client retries its uploads now. */
    public static void networkChanged() { Native.networkChanged(); }

    private static int ms(Duration d) { return (int) Math.min(Integer.MAX_VALUE, Math.max(0, d.toMillis())); }

    private long use(String what) {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new TelltaleException("TT_EMISUSE", -2, what + ": the telltale Client is closed",
                "open a new Client; close() ends a client for good", "docs/errors.md#emisuse");
        }
        return handle;
    }

    private void done() { lock.readLock().unlock(); }

    /** Flush (up to the close timeout), stop the threads, free the client. Twice is fine. */
    @Override
    public void close() {
        long h;
        lock.writeLock().lock();
        try {
            h = handle;
            handle = 0;
        } finally {
            lock.writeLock().unlock();
        }
        if (h != 0) Native.close(h, ms(closeTimeout));
    }

    public boolean isClosed() { return handle == 0; }

    /** Queue one event; true if queued, false if dropped (this thread's queue was full). */
    public boolean log(int level, String msg, Map<String, ?> attrs) {
        String[] keys = null, values = null;
        if (attrs != null && !attrs.isEmpty()) {
            keys = new String[attrs.size()];
            values = new String[attrs.size()];
            int i = 0;
            for (Map.Entry<String, ?> e : attrs.entrySet()) {
                keys[i] = e.getKey();
                values[i++] = String.valueOf(e.getValue());
            }
        }
        byte[] m = Native.z(msg);
        long h = use("log");
        try {
            return Native.log(h, level, m, Native.z(keys), Native.z(values)) == 0;
        } finally {
            done();
        }
    }

    public boolean log(int level, String msg) { return log(level, msg, null); }
    public boolean debug(String msg) { return log(DEBUG, msg, null); }
    public boolean info(String msg) { return log(INFO, msg, null); }
    public boolean warn(String msg) { return log(WARN, msg, null); }
    public boolean error(String msg) { return log(ERROR, msg, null); }
    public boolean debug(String msg, Map<String, ?> attrs) { return log(DEBUG, msg, attrs); }
    public boolean info(String msg, Map<String, ?> attrs) { return log(INFO, msg, attrs); }
    public boolean warn(String msg, Map<String, ?> attrs) { return log(WARN, msg, attrs); }
    public boolean error(String msg, Map<String, ?> attrs) { return log(ERROR, msg, attrs); }

    /** Return once everything logged before is in the file; TT_ETIMEOUT after the timeout. */
    public void flush(Duration timeout) {
        long h = use("flush");
        try { Native.flush(h, ms(timeout)); } finally { done(); }
    }

    public void flush() { flush(Duration.ofSeconds(5)); }

    /** The tt_stats fields by name (see STATS_FIELDS). */
    public Map<String, Long> stats() {
        long[] v;
        long h = use("stats");
        try { v = Native.stats(h); } finally { done(); }
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < STATS_FIELDS.length; i++) out.put(STATS_FIELDS[i], v[i]);
        return out;
    }

    /** The answer that counts now. */
    public Consent consent() {
        long h = use("consent");
        try { return Consent.values()[Native.consentGet(h)]; } finally { done(); }
    }

    public void setConsent(Consent value) { setConsent(value, null); }

    /** Record the user's answer for policyVersion (null: the client's consentPolicyVersion). */
    public void setConsent(Consent value, String policyVersion) {
        byte[] p = Native.z(policyVersion);
        long h = use("setConsent");
        try { Native.consentSet(h, value.ordinal(), p); } finally { done(); }
    }

    /** Deliver everything stored now; TT_ENOCONSENT without a GRANTED, TT_ETIMEOUT. */
    public void uploadFlush(Duration timeout) {
        long h = use("uploadFlush");
        try { Native.uploadFlush(h, ms(timeout)); } finally { done(); }
    }

    /** File a problem report now and return its id (36 characters); sent in the background. */
    public String report(String description, String contact, String... attachments) {
        return reportImpl("report", null, description, contact, attachments);
    }

    public String report(String description) { return report(description, null); }

    /** Write the same report to path as a plain tar (manifest.json, logs.ndjson.zst, attachments/); not sent. */
    public String exportReport(String path, String description, String contact, String... attachments) {
        if (path == null) throw new TelltaleException("TT_EINVAL", -1, "exportReport: path is null", "pass a file path", "docs/errors.md#einval");
        return reportImpl("exportReport", path, description, contact, attachments);
    }

    public String exportReport(String path, String description) { return exportReport(path, description, null); }

    /** Where report reportId is, and why if it failed. TT_ENOTFOUND (no such report in this buffer), TT_EINVAL (null). */
    public ReportStatus reportStatus(String reportId) {
        byte[] i = Native.z(reportId);
        byte[][] reason = new byte[1][];
        int state;
        long h = use("reportStatus");
        try { state = Native.reportStatus(h, i, reason); } finally { done(); }
        return new ReportStatus(ReportState.values()[state], Native.text(reason[0]));
    }

    /**
     * The backend's current incident notice ("Sync is down for some users; a fix is on its
     * way"), as it last answered a report or refreshNotice; "" when none. Show it next to the
     * report id. TT_ESTORE if the buffer cannot be read.
     */
    public String notice() {
        long h = use("notice");
        try { return Native.text(Native.notice(h)); } finally { done(); }
    }

    /**
     * Ask the backend now (a public GET of &lt;endpoint&gt;/v1/status: no token, nothing of the
     * user's) and return its notice, "" when none; call it when the user opens the report
     * screen, off the UI thread. Blocks up to timeout (zero: 5 s). TT_EINVAL (no endpoint),
     * TT_ENET (no answer, an HTTP error, not JSON), TT_ETIMEOUT; the notice kept stays as it was.
     */
    public String refreshNotice(Duration timeout) {
        long h = use("refreshNotice");
        try {
            Native.noticeRefresh(h, ms(timeout));
            return Native.text(Native.notice(h));
        } finally {
            done();
        }
    }

    public String refreshNotice() { return refreshNotice(Duration.ofSeconds(5)); }

    private String reportImpl(String what, String path, String description, String contact, String[] attachments) {
        byte[] p = Native.z(path), d = Native.z(description), c = Native.z(contact);
        byte[][] a = Native.z(attachments);
        long h = use(what);
        try { return Native.report(h, p, d, c, a); } finally { done(); }
    }
}
