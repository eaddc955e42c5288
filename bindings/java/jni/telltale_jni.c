/* JNI glue for io.telltale.Native: arguments in, tt_* call, TelltaleException out.
 * Strings arrive as NUL-terminated UTF-8 byte arrays (Native.z), so any Java string
 * (emoji included) reaches the library as real UTF-8, not JNI's modified UTF-8. */
#include <jni.h>
#include <stdlib.h>
#include <string.h>

#include <telltale/telltale.h>

#define CLIENT(h) ((tt_client *)(intptr_t)(h))

static void throw_status(JNIEnv *env, tt_status rc) {
    const tt_error *e = tt_error_last();
    const char *message = e->code == rc ? e->message : tt_status_describe(rc);
    const char *hint = e->code == rc ? e->hint : "";
    const char *doc = e->code == rc ? e->doc : "";
    jclass cls = (*env)->FindClass(env, "io/telltale/TelltaleException");
    if (!cls) return;
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>",
                                         "(Ljava/lang/String;ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;)V");
    if (!ctor) return;
    jstring jcode = (*env)->NewStringUTF(env, tt_status_name(rc));
    jstring jmsg = (*env)->NewStringUTF(env, message);
    jstring jhint = (*env)->NewStringUTF(env, hint);
    jstring jdoc = (*env)->NewStringUTF(env, doc);
    if ((*env)->ExceptionCheck(env)) return;
    jobject ex = (*env)->NewObject(env, cls, ctor, jcode, (jint)rc, jmsg, jhint, jdoc);
    if (ex) (*env)->Throw(env, (jthrowable)ex);
}

static int check(JNIEnv *env, tt_status rc) {
    if (rc != TT_OK) {
        throw_status(env, rc);
        return 0;
    }
    return 1;
}

/* A byte[] (NUL-terminated by Native.z) as a C string, or NULL. Free with text_free. */
static char *text(JNIEnv *env, jbyteArray a) {
    if (!a) return NULL;
    jsize n = (*env)->GetArrayLength(env, a);
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    (*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)s);
    s[n] = '\0';
    return s;
}

/* An array of byte[] as C strings; *n gets the count. */
static char **texts(JNIEnv *env, jobjectArray a, jsize *n) {
    *n = a ? (*env)->GetArrayLength(env, a) : 0;
    if (*n == 0) return NULL;
    char **out = calloc((size_t)*n, sizeof *out);
    if (!out) return NULL;
    for (jsize i = 0; i < *n; i++) {
        jbyteArray e = (jbyteArray)(*env)->GetObjectArrayElement(env, a, i);
        out[i] = text(env, e);
        (*env)->DeleteLocalRef(env, e);
    }
    return out;
}

static void texts_free(char **t, jsize n) {
    if (!t) return;
    for (jsize i = 0; i < n; i++) free(t[i]);
    free(t);
}

JNIEXPORT jlong JNICALL Java_io_telltale_Native_open(JNIEnv *env, jclass cls, jobjectArray jtexts, jintArray jnums) {
    (void)cls;
    jsize nt = 0;
    char **t = texts(env, jtexts, &nt);
    jint nums[5] = {0};
    (*env)->GetIntArrayRegion(env, jnums, 0, 5, nums);
    tt_options o;
    tt_options_init(&o);
    o.version = TT_OPTIONS_VERSION;
    if (nt >= 7) {
        o.db_path = t[0];
        o.app_name = t[1];
        o.app_version = t[2];
        o.endpoint = t[3];
        o.auth_token = t[4];
        o.consent_policy_version = t[5];
        o.request_id_headers = t[6];
    }
    o.full_policy = nums[0] ? TT_FULL_BLOCK : TT_FULL_DROP;
    o.upload_interval_ms = (uint32_t)nums[1];
    o.retry_base_ms = (uint32_t)nums[2];
    o.compression = (tt_codec)nums[3];
    o.commit_interval_ms = (uint32_t)nums[4];
    tt_client *c = NULL;
    tt_status rc = tt_open(&c, &o);
    texts_free(t, nt);
    if (!check(env, rc)) return 0;
    return (jlong)(intptr_t)c;
}

JNIEXPORT jint JNICALL Java_io_telltale_Native_close(JNIEnv *env, jclass cls, jlong h, jint ms) {
    (void)env;
    (void)cls;
    return tt_close(CLIENT(h), (uint32_t)ms);
}

JNIEXPORT jint JNICALL Java_io_telltale_Native_log(JNIEnv *env, jclass cls, jlong h, jint level, jbyteArray jmsg,
                                                   jobjectArray jkeys, jobjectArray jvalues) {
    (void)cls;
    char *msg = text(env, jmsg);
    tt_status rc;
    if (jkeys) {
        jsize nk = 0, nv = 0;
        char **k = texts(env, jkeys, &nk);
        char **v = texts(env, jvalues, &nv);
        tt_attr stack[16];
        tt_attr *attrs = nk <= 16 ? stack : malloc(sizeof(tt_attr) * (size_t)nk);
        if (!attrs) {
            rc = TT_ENOMEM;
        } else {
            for (jsize i = 0; i < nk; i++) {
                attrs[i].key = k[i];
                attrs[i].value = i < nv ? v[i] : "";
            }
            rc = tt_log_attrs(CLIENT(h), (tt_level)level, msg, attrs, (size_t)nk);
            if (attrs != stack) free(attrs);
        }
        texts_free(k, nk);
        texts_free(v, nv);
    } else {
        rc = tt_log(CLIENT(h), (tt_level)level, msg);
    }
    free(msg);
    if (rc == TT_EFULL) return rc;
    check(env, rc);
    return rc;
}

JNIEXPORT void JNICALL Java_io_telltale_Native_flush(JNIEnv *env, jclass cls, jlong h, jint ms) {
    (void)cls;
    check(env, tt_flush(CLIENT(h), (uint32_t)ms));
}

JNIEXPORT jlongArray JNICALL Java_io_telltale_Native_stats(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    tt_stats s;
    tt_stats_init(&s);
    s.version = TT_STATS_VERSION;
    if (!check(env, tt_stats_get(CLIENT(h), &s))) return NULL;
    jlong v[] = {(jlong)s.logged, (jlong)s.dropped, (jlong)s.stored, (jlong)s.evicted, (jlong)s.uploaded,
                 (jlong)s.upload_failures, (jlong)s.reports_pending, (jlong)s.db_bytes, (jlong)s.pending_upload,
                 (jlong)s.truncated, (jlong)s.repaired, (jlong)s.store_errors, (jlong)s.corrupt_recovered,
                 (jlong)s.events, (jlong)s.requests, (jlong)s.requests_dropped, (jlong)s.bad_traceparents,
                 (jlong)s.headers_capped, (jlong)s.spans_uploaded, (jlong)s.upload_dropped, (jlong)s.upload_bytes};
    jsize n = (jsize)(sizeof v / sizeof v[0]);
    jlongArray out = (*env)->NewLongArray(env, n);
    if (out) (*env)->SetLongArrayRegion(env, out, 0, n, v);
    return out;
}

JNIEXPORT void JNICALL Java_io_telltale_Native_consentSet(JNIEnv *env, jclass cls, jlong h, jint v, jbyteArray jpolicy) {
    (void)cls;
    char *policy = text(env, jpolicy);
    tt_status rc = tt_consent_set(CLIENT(h), (tt_consent)v, policy);
    free(policy);
    check(env, rc);
}

JNIEXPORT jint JNICALL Java_io_telltale_Native_consentGet(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    tt_consent v = TT_CONSENT_UNKNOWN;
    check(env, tt_consent_get(CLIENT(h), &v));
    return (jint)v;
}

JNIEXPORT void JNICALL Java_io_telltale_Native_uploadFlush(JNIEnv *env, jclass cls, jlong h, jint ms) {
    (void)cls;
    check(env, tt_upload_flush(CLIENT(h), (uint32_t)ms));
}

/* Submit (path NULL) or export. A report filed without an attachment (TT_ELIMIT, TT_EIO
 * with an id) still returns its id: the user must get it. */
JNIEXPORT jstring JNICALL Java_io_telltale_Native_report(JNIEnv *env, jclass cls, jlong h, jbyteArray jpath,
                                                         jbyteArray jdesc, jbyteArray jcontact, jobjectArray jatt) {
    (void)cls;
    char *path = text(env, jpath), *desc = text(env, jdesc), *contact = text(env, jcontact);
    jsize na = 0;
    char **att = texts(env, jatt, &na);
    tt_report_options o = TT_REPORT_OPTIONS_INIT;
    o.description = desc;
    o.contact = contact;
    o.attachments = (const char *const *)att;
    o.attachment_count = (size_t)na;
    char id[TT_REPORT_ID_SIZE] = {0};
    tt_status rc = path ? tt_report_export(CLIENT(h), &o, path, id) : tt_report_submit(CLIENT(h), &o, id);
    free(path);
    free(desc);
    free(contact);
    texts_free(att, na);
    if (rc != TT_OK && !((rc == TT_ELIMIT || rc == TT_EIO) && id[0])) {
        throw_status(env, rc);
        return NULL;
    }
    return (*env)->NewStringUTF(env, id);
}

/* A C string as a byte[] of its UTF-8 (what the backend sent may be any Unicode, which
 * NewStringUTF's modified UTF-8 would garble); Native.text decodes it. */
static jbyteArray bytes(JNIEnv *env, const char *s) {
    jsize n = (jsize)strlen(s);
    jbyteArray out = (*env)->NewByteArray(env, n);
    if (out) (*env)->SetByteArrayRegion(env, out, 0, n, (const jbyte *)s);
    return out;
}

/* The state; for TT_REPORT_FAILED, reason[0] gets why: the library leaves
 * "report <id> failed: <why>" in tt_error_last() (code TT_OK), and <why> is kept. */
JNIEXPORT jint JNICALL Java_io_telltale_Native_reportStatus(JNIEnv *env, jclass cls, jlong h, jbyteArray jid,
                                                            jobjectArray jreason) {
    (void)cls;
    char *id = text(env, jid);
    tt_report_state st = TT_REPORT_PENDING;
    tt_status rc = tt_report_status(CLIENT(h), id, &st);
    if (rc == TT_OK && st == TT_REPORT_FAILED) {
        const char *m = tt_error_last()->message;
        size_t n = strlen(id);
        if (strncmp(m, "report ", 7) == 0 && strncmp(m + 7, id, n) == 0 && strncmp(m + 7 + n, " failed: ", 9) == 0)
            m += 7 + n + 9;
        jbyteArray r = bytes(env, m);
        if (r) (*env)->SetObjectArrayElement(env, jreason, 0, r);
    }
    free(id);
    check(env, rc);
    return (jint)st;
}

/* tt_notice_get has no status: a known TT_EINVAL goes first, so "" with another code in
 * tt_error_last() is a failure of this call (as the C++ Client::notice). */
JNIEXPORT jbyteArray JNICALL Java_io_telltale_Native_notice(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    tt_stats_get(NULL, NULL);
    const char *n = tt_notice_get(CLIENT(h));
    const tt_error *e = tt_error_last();
    if (!n[0] && e->code != TT_EINVAL && e->code != TT_OK) {
        throw_status(env, e->code);
        return NULL;
    }
    return bytes(env, n);
}

JNIEXPORT void JNICALL Java_io_telltale_Native_noticeRefresh(JNIEnv *env, jclass cls, jlong h, jint ms) {
    (void)cls;
    check(env, tt_notice_refresh(CLIENT(h), (uint32_t)ms));
}

JNIEXPORT jstring JNICALL Java_io_telltale_Native_version(JNIEnv *env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, tt_version());
}

JNIEXPORT void JNICALL Java_io_telltale_Native_networkChanged(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    tt_network_changed();
}
