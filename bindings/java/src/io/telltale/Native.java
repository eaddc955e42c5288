package io.telltale;

import java.nio.charset.StandardCharsets;

/** The JNI entry points (bindings/java/jni/telltale_jni.c). Strings go as NUL-terminated UTF-8. */
final class Native {
    static {
        String path = System.getProperty("telltale.jni");
        if (path == null || path.isEmpty()) path = System.getenv("TELLTALE_JNI_LIBRARY");
        if (path != null && !path.isEmpty()) System.load(path);
        else System.loadLibrary("telltale_jni");
    }

    private Native() {}

    static byte[] z(String s) {
        if (s == null) return null;
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    /** UTF-8 bytes from the library (no NUL) as a String; null: "". */
    static String text(byte[] b) { return b == null ? "" : new String(b, StandardCharsets.UTF_8); }

    static byte[][] z(String[] a) {
        if (a == null) return null;
        byte[][] out = new byte[a.length][];
        for (int i = 0; i < a.length; i++) out[i] = z(a[i] == null ? "" : a[i]);
        return out;
    }

    // options: {db_path, app_name, app_version, endpoint, auth_token, consent_policy_version, request_id_headers}
    // numbers: {full_policy, upload_interval_ms, retry_base_ms, compression, commit_interval_ms}
    static native long open(byte[][] texts, int[] numbers);
    static native int close(long h, int timeoutMs);
    static native int log(long h, int level, byte[] msg, byte[][] keys, byte[][] values);
    static native void flush(long h, int timeoutMs);
    static native long[] stats(long h);
    static native void consentSet(long h, int value, byte[] policyVersion);
    static native int consentGet(long h);
    static native void uploadFlush(long h, int timeoutMs);
    static native String report(long h, byte[] exportPath, byte[] description, byte[] contact, byte[][] attachments);
    // The state (tt_report_state); reason[0] gets why a FAILED report failed (UTF-8), else null.
    static native int reportStatus(long h, byte[] id, byte[][] reason);
    static native byte[] notice(long h);
    static native void noticeRefresh(long h, int timeoutMs);
    static native String version();
    static native void networkChanged();
}
