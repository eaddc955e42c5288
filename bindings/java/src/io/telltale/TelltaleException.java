package io.telltale;

/** A telltale call failed: code ("TT_ESTORE"), message and hint are the library's words. */
public class TelltaleException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String code;
    private final int status;
    private final String hint;
    private final String doc;

    public TelltaleException(String code, int status, String message, String hint, String doc) {
        super(code + ": " + message + (hint == null || hint.isEmpty() ? "" : " Hint: " + hint));
        this.code = code;
        this.status = status;
        this.rawMessage = message;
        this.hint = hint == null ? "" : hint;
        this.doc = doc == null ? "" : doc;
    }

    private final String rawMessage;

    /** The status name, e.g. "TT_ESTORE" (see docs/errors.md). */
    public String code() { return code; }
    /** The status number (negative). */
    public int status() { return status; }
    /** What went wrong, in plain words (getMessage() adds the code and the hint). */
    public String message() { return rawMessage; }
    /** What to do about it; may be "". */
    public String hint() { return hint; }
    /** Where docs/errors.md explains it, e.g. "docs/errors.md#estore". */
    public String doc() { return doc; }
}
