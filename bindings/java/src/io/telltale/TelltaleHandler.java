package io.telltale;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.ErrorManager;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

/**
 * A java.util.logging.Handler that stores records in a telltale Client.
 * Levels: SEVERE error, WARNING warn, INFO info, CONFIG between info and debug (7), FINE debug,
 * FINER and FINEST trace. Attributes: logger.name, code.function (class.method), thread.id,
 * and exception.type/message/stacktrace when the record has a Throwable.
 * close() does not close the Client.
 */
public class TelltaleHandler extends Handler {
    private final Client client;
    private final SimpleFormatter messages = new SimpleFormatter();

    public TelltaleHandler(Client client) { this.client = client; }

    static int severity(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) return Client.ERROR;
        if (v >= Level.WARNING.intValue()) return Client.WARN;
        if (v >= Level.INFO.intValue()) return Client.INFO;
        if (v >= Level.CONFIG.intValue()) return 7;
        if (v >= Level.FINE.intValue()) return Client.DEBUG;
        return Client.TRACE;
    }

    @Override
    public void publish(LogRecord r) {
        if (r == null || !isLoggable(r)) return;
        try {
            String msg = getFormatter() != null ? getFormatter().format(r) : messages.formatMessage(r);
            Map<String, String> attrs = new LinkedHashMap<>();
            if (r.getLoggerName() != null) attrs.put("logger.name", r.getLoggerName());
            if (r.getSourceClassName() != null)
                attrs.put("code.function", r.getSourceClassName() + "." + r.getSourceMethodName());
            attrs.put("thread.id", Long.toString(r.getLongThreadID()));
            Throwable t = r.getThrown();
            if (t != null) {
                attrs.put("exception.type", t.getClass().getName());
                attrs.put("exception.message", String.valueOf(t.getMessage()));
                StringWriter sw = new StringWriter();
                t.printStackTrace(new PrintWriter(sw));
                attrs.put("exception.stacktrace", sw.toString());
            }
            client.log(severity(r.getLevel()), msg, attrs);
        } catch (RuntimeException e) {
            reportError(e.getMessage(), e, ErrorManager.WRITE_FAILURE);
        }
    }

    @Override
    public void flush() {
        if (client.isClosed()) return;
        try { client.flush(); } catch (TelltaleException e) { reportError(e.getMessage(), e, ErrorManager.FLUSH_FAILURE); }
    }

    @Override
    public void close() {}
}
