/*
 * flbhost: load a Fluent Bit Go output plugin (c-shared .so) the way Fluent
 * Bit's Go proxy does, flush raw chunk files through it and report what the
 * plugin returned. See ABI.md next to this file for the sources it mirrors;
 * "fb:" comments name the Fluent Bit file (tags v3.2.10, v4.2.8, v5.1.1).
 *
 * Build: cc -O2 -Wall -Wextra -o flbhost flbhost.c -ldl -lpthread
 *
 * Usage: flbhost [--abi 3|4|5] [--workers N] [--retries N] [--retry-wait MS]
 *                [--linger MS] [--reload N] [--tag T] PLUGIN.so [-o key=value ...]
 *                [--instance -o key=value ...] [-- CHUNKFILE ...]
 *        flbhost [--abi 3.0|3.1|3.2|4|5] [--tag T] --filter-out DIR
 *                flb-filter_NAME.so [-o key=value ...]
 *                [--instance -o key=value ...] [-- CHUNKFILE ...]
 *        flbhost [options] --filter flb-filter_NAME.so [-o key=value ...]
 *                [--instance -o ...] PLUGIN.so [-o ...] [-- CHUNKFILE ...]
 *
 * A PLUGIN.so whose file name starts with "flb-" goes through Fluent Bit's C
 * plugin loader instead (fb: src/flb_plugin.c flb_plugin_load_router()):
 * today filters only. Each instance is one [FILTER]; every chunk runs through
 * the instances in order, as fb: src/flb_filter.c flb_filter_do() does, and
 * the result is written to DIR/<chunk file name>. Lines:
 *   load symbol=<s> name=<n> size=<bytes> layout=<3.0|3.2>
 *   init filter=<i> rc=<n>
 *   filter instance=<i> chunk=<path> rc=<MODIFIED|NOTOUCH|OTHER> bytes=<n>
 *   out chunk=<path> file=<path> bytes=<n>
 *   exit filter=<i> rc=<n>
 * With --filter, the filter runs on every chunk first, in the same process
 * as the Go output, and the output flushes what the filter returned (chunks
 * it emptied are not flushed).
 *
 * stdout (one line each, machine readable):
 *   register name=<n> event_type=<n>
 *   init instance=<i> rc=<n>
 *   flush instance=<i> chunk=<path> attempt=<n> rc=<OK|RETRY|ERROR>
 *   drop instance=<i> chunk=<path> reason=<error|retries_exhausted|no_retries>
 *   idle linger_ms=<n>   (--linger: every flush done, exit callbacks after n ms,
 *                         so a test can scrape the plugin's metrics meanwhile)
 *   exit instance=<i> cb=<FLBPluginExitCtx|FLBPluginExit|none> rc=<n>
 *   reload round=<r>     (--reload: the plugin is registered and initialised again)
 *   summary ok=<pairs OK> retried=<attempts that returned RETRY> failed=<pairs dropped>
 * Exit status: 0 if every chunk x instance pair ended OK, 1 otherwise
 * (including a refused start), 2 on usage errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <fnmatch.h>
#include <libgen.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* fb: include/fluent-bit/flb_macros.h */
#define FLB_ERROR 0
#define FLB_OK    1
#define FLB_RETRY 2
/* fb: include/fluent-bit/flb_plugin_proxy.h */
#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG        11
/* fb: include/fluent-bit/flb_output.h */
#define FLB_OUTPUT_LOGS         1
#define FLB_OUT_RETRY_UNLIMITED -1
#define FLB_OUT_RETRY_NONE      0
/* fb: include/fluent-bit/flb_log.h */
#define FLB_LOG_INFO 3

/*
 * struct flb_plugin_proxy_def, one layout per ABI. The plugin writes into it
 * from FLBPluginRegister, so its size is ABI: a Go side that writes a field
 * the host does not have corrupts the host's heap.
 */
struct def_v3 {             /* v3.x .. v4.2.2, allocated with flb_malloc */
    int type, proxy, flags;
    char *name, *description;
};
struct def_v4 {             /* v4.2.3 .. v5.1.0, flb_calloc */
    int type, proxy, flags;
    char *name, *description;
    int event_type;
};
struct def_v5 {             /* v5.1.1 .., flb_calloc */
    int type, proxy, flags;
    char *name, *description;
    int event_type;
    void *config_map;       /* struct flb_config_map *; NULL = no validation */
};

/*
 * fb: include/fluent-bit/flb_config_map.h of v5.1.1 (from v5.0.3, whose
 * flb_config_map_val gained `raw`; 96 bytes before). A plugin hands an array
 * of these, ended by an entry whose name is NULL; only the leading fields
 * are the plugin's. Only abi 5 reads it.
 */
struct flb_config_map {
    int type;               /* FLB_CONFIG_MAP_STR 0, FLB_CONFIG_MAP_STR_PREFIX 1, ... */
    char *name;
    char *def_value;
    int flags;
    int set_property;
    uintptr_t offset;
    char *desc;
    unsigned char value[40];  /* struct flb_config_map_val: val, raw, mult, _head */
    unsigned char head[16];   /* struct mk_list */
};
_Static_assert(sizeof(struct flb_config_map) == 104, "flb_config_map layout");
#define FLB_CONFIG_MAP_STR_PREFIX 1

/* fb: include/fluent-bit/flb_api.h (custom_* exist from v4.1.0 on) */
struct flb_api {
    const char *(*output_get_property)(const char *, void *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
    const char *(*custom_get_property)(const char *, void *);
    int (*custom_log_check)(void *, int);
};

/* fb: include/fluent-bit/flb_plugin_proxy.h, one per output instance */
struct flb_plugin_proxy_context {
    void *remote_context;   /* written by FLBPluginSetContext */
    void *proxy;
};

/* fb: src/proxy/go/go.h; ONE per loaded .so, shared by all instances */
struct flbgo_output_plugin {
    char *name;
    void *api;
    void *o_ins;
    struct flb_plugin_proxy_context *context;
    int (*cb_init)(struct flbgo_output_plugin *);
    int (*cb_flush)(const void *, size_t, const char *);
    int (*cb_flush_ctx)(void *, const void *, size_t, char *);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *);
};

struct prop { char *key; char *val; int core; };

struct instance {
    /* fb: struct flb_filter_instance starts with these three ints in every
     * supported version, and the filter reads log_level there */
    int event_type;
    int id;
    int log_level;
    int filter;             /* a [FILTER] instance (C loader), else an [OUTPUT] */
    void *context;          /* filters: set by flb_filter_set_context() */
    struct prop *props;
    int nprops;
    int retry_limit;
    struct flb_plugin_proxy_context *ctx;
};

struct chunk { const char *path; const void *data; size_t size; };

enum { T_PENDING, T_RUNNING, T_DONE };
struct task { int inst, chunk, attempts, retries, state; double due; };

static int abi = 5;
static int abi_minor = -1;   /* --abi 3.1: the filter layout changed in 3.2 */
static int c_plugin;         /* loaded through the C plugin loader */
static const char *filter_out;
static int workers = 0;      /* 0: flush on the thread that ran init */
static int retries = 5;
static long retry_wait_ms = 1000;
static long linger_ms = 0;
static const char *tag = "kube-audit";
static struct instance *insts;
static int ninsts;
static struct chunk *chunks;
static int nchunks;
static struct flbgo_output_plugin go;

static struct task *tasks;
static int ntasks, running;
static int reloads;     /* --reload: hot reloads after the first round */
static int n_ok, n_retried, n_failed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("flbhost: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) die(1, "out of memory");
    return p;
}

/*
 * Keys Fluent Bit's core takes for itself, so FLBPluginConfigKey never sees
 * them. fb: src/flb_output.c flb_output_set_property(); "name" (and "routes"
 * since 4.x) are skipped by the config loader, src/flb_config.c
 * configure_plugins_type(). Linux build: tls.windows.* do reach the plugin.
 */
static const char *core_v3[] = {
    "name", "match", "match_regex", "alias", "log_level",
    "log_suppress_interval", "host", "port", "ipv6", "retry_limit", "tls",
    "tls.verify", "tls.verify_hostname", "tls.debug", "tls.vhost",
    "tls.ca_path", "tls.ca_file", "tls.crt_file", "tls.key_file",
    "tls.key_passwd", "storage.total_limit_size", "workers", NULL };
static const char *core_v4[] = {
    "routes", "tls.min_version", "tls.max_version", "tls.ciphers", NULL };
static const char *core_v5[] = {
    "tls.proxy.verify", "tls.proxy.verify_hostname", "tls.proxy.ca_path",
    "tls.proxy.ca_file", NULL };

static int in_list(const char **l, const char *k)
{
    for (; *l; l++) {
        if (strcasecmp(*l, k) == 0) return 1;
    }
    return 0;
}

/* fb: src/flb_filter.c flb_filter_set_property() */
static const char *core_filter[] = {
    "name", "match", "match_regex", "alias", "log_level", "log_suppress_interval", NULL };

static int core_key(const char *k, int filter)
{
    if (filter) return in_list(core_filter, k);
    if (strncasecmp(k, "net.", 4) == 0) return 1;
    if (abi >= 5 && strncasecmp(k, "oauth2", 6) == 0) return 1;
    return in_list(core_v3, k) || (abi >= 4 && in_list(core_v4, k)) ||
           (abi >= 5 && in_list(core_v5, k));
}

/* ${VAR} and ${VAR:-default}, as fb: src/flb_env.c flb_env_var_translate() */
static char *env_translate(const char *v)
{
    size_t cap = strlen(v) + 1, len = 0;
    char *out = xcalloc(cap, 1);

#define APPEND(s, n) do { \
        size_t n_ = (n); \
        if (len + n_ + 1 > cap) { \
            cap = (len + n_ + 1) * 2; \
            out = realloc(out, cap); \
            if (!out) die(1, "out of memory"); \
        } \
        memcpy(out + len, (s), n_); len += n_; out[len] = '\0'; \
    } while (0)

    while (*v) {
        const char *s = strstr(v, "${");
        const char *e = s ? strchr(s + 2, '}') : NULL;
        if (!s || !e) {
            APPEND(v, strlen(v));
            break;
        }
        APPEND(v, (size_t) (s - v));
        char *name = strndup(s + 2, (size_t) (e - s - 2));
        char *def = strstr(name, ":-");
        if (def) {
            *def = '\0';
            def += 2;
        }
        const char *val = getenv(name);
        if (def && (!val || !*val)) val = def;
        if (val) APPEND(val, strlen(val));
        free(name);
        v = e + 1;
    }
#undef APPEND
    return out;
}

static int log_level_str(const char *s)  /* fb: src/flb_log.c */
{
    static const char *n[] = { "off", "error", "warn", "info", "debug", "trace" };
    if (strcasecmp(s, "warning") == 0) return 2;
    for (int i = 0; i < 6; i++) {
        if (strcasecmp(s, n[i]) == 0) return i;
    }
    return -1;
}

/* fb: src/flb_output.c flb_output_set_property() */
static void set_property(struct instance *ins, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) die(2, "-o wants key=value, got '%s'", kv);

    struct prop *p;
    ins->props = realloc(ins->props, sizeof(*p) * (size_t) (ins->nprops + 1));
    if (!ins->props) die(1, "out of memory");
    p = &ins->props[ins->nprops++];
    p->key = strndup(kv, (size_t) (eq - kv));
    p->val = env_translate(eq + 1);
    if (p->val[0] == '\0') {     /* empty after translation => NULL value */
        free(p->val);
        p->val = NULL;
    }
    p->core = core_key(p->key, ins->filter);
    if (!p->core || !p->val) return;

    if (strcasecmp(p->key, "log_level") == 0) {   /* fb: outputs and filters alike */
        ins->log_level = log_level_str(p->val);
        if (ins->log_level < 0) die(1, "invalid log_level '%s'", p->val);
    }
    else if (ins->filter) return;
    else if (strcasecmp(p->key, "retry_limit") == 0) {
        if (strcasecmp(p->val, "no_limits") == 0 ||
            strcasecmp(p->val, "false") == 0 || strcasecmp(p->val, "off") == 0) {
            ins->retry_limit = FLB_OUT_RETRY_UNLIMITED;
        }
        else if (strcasecmp(p->val, "no_retries") == 0) {
            ins->retry_limit = FLB_OUT_RETRY_NONE;
        }
        else {
            ins->retry_limit = atoi(p->val);
            if (ins->retry_limit <= 0) ins->retry_limit = 1;
        }
    }
}

/*
 * api->output_get_property: fb: src/flb_kv.c flb_kv_get_key_value(), first
 * match wins, case-insensitive, NULL when absent.
 */
static const char *host_get_property(const char *key, void *o_ins)
{
    struct instance *ins = o_ins;
    if (!key || !*key || !ins) return NULL;
    for (int i = 0; i < ins->nprops; i++) {
        struct prop *p = &ins->props[i];
        if (!p->core && strcasecmp(p->key, key) == 0) return p->val;
    }
    return NULL;
}

static const char *no_property(const char *key, void *ins)
{
    (void) key;
    (void) ins;
    return NULL;
}

static void *no_cmt(void *ins)
{
    (void) ins;
    return NULL;     /* no cmetrics context in this host */
}

static void host_log_print(int type, const char *file, int line, const char *fmt, ...)
{
    static const char *n[] = { "off", "error", "warn", "info", "debug", "trace" };
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[flbhost] [%s] ", type >= 0 && type <= 5 ? n[type] : "log");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s:%d)\n", file ? file : "?", line);
    va_end(ap);
}

static int host_log_check(void *ins, int level)  /* fb: flb_output_log_check() */
{
    struct instance *i = ins;
    return i && level <= i->log_level;
}

static void *sym(void *h, const char *name)  /* fb: flb_plugin_proxy_symbol() */
{
    void *s;
    dlerror();
    s = dlsym(h, name);
    return dlerror() != NULL ? NULL : s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* fb: src/proxy/go/go.c proxy_go_output_flush() + src/flb_plugin_proxy.c proxy_cb_flush() */
static int flush_one(struct instance *ins, struct chunk *c)
{
    size_t tag_len = strlen(tag);
    char *buf = malloc(tag_len + 1);
    int ret;

    if (!buf) return FLB_ERROR;
    memcpy(buf, tag, tag_len);
    buf[tag_len] = '\0';
    if (go.cb_flush_ctx) {
        ret = go.cb_flush_ctx(ins->ctx->remote_context, c->data, c->size, buf);
    }
    else {
        ret = go.cb_flush(c->data, c->size, buf);
    }
    free(buf);
    if (ret != FLB_OK && ret != FLB_RETRY && ret != FLB_ERROR) ret = FLB_ERROR;
    return ret;
}

/*
 * Worker loop over the shared task queue. Retries are re-queued with a due
 * time instead of sleeping, so other chunks keep flowing, like the engine's
 * scheduler timers (fb: src/flb_engine.c, src/flb_task.c
 * flb_task_retry_create()). Fluent Bit waits with jittered backoff
 * (scheduler.base/scheduler.cap); here the wait is a fixed --retry-wait.
 */
static void *worker(void *arg)
{
    (void) arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        struct task *t = NULL;
        for (int i = 0; i < ntasks; i++) {
            if (tasks[i].state == T_PENDING && (!t || tasks[i].due < t->due)) t = &tasks[i];
        }
        if (!t) {
            if (running == 0) break;
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        double wait = t->due - now_s();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            long long ns = (long long) ts.tv_nsec + (long long) (wait * 1e9);
            ts.tv_sec += (time_t) (ns / 1000000000LL);
            ts.tv_nsec = (long) (ns % 1000000000LL);
            pthread_cond_timedwait(&cv, &mu, &ts);
            continue;
        }

        t->state = T_RUNNING;
        t->attempts++;
        running++;
        pthread_mutex_unlock(&mu);
        int rc = flush_one(&insts[t->inst], &chunks[t->chunk]);
        pthread_mutex_lock(&mu);
        running--;

        struct instance *ins = &insts[t->inst];
        const char *path = chunks[t->chunk].path;
        printf("flush instance=%d chunk=%s attempt=%d rc=%s\n", ins->id, path,
               t->attempts, rc == FLB_OK ? "OK" : rc == FLB_RETRY ? "RETRY" : "ERROR");
        t->state = T_DONE;
        if (rc == FLB_OK) {
            n_ok++;
        }
        else if (rc == FLB_ERROR) {
            n_failed++;
            printf("drop instance=%d chunk=%s reason=error\n", ins->id, path);
        }
        else {
            n_retried++;
            if (ins->retry_limit == FLB_OUT_RETRY_NONE) {
                n_failed++;
                printf("drop instance=%d chunk=%s reason=no_retries\n", ins->id, path);
            }
            else if (ins->retry_limit >= 0 && t->retries >= ins->retry_limit) {
                n_failed++;
                printf("drop instance=%d chunk=%s reason=retries_exhausted\n", ins->id, path);
            }
            else {
                t->retries++;
                t->state = T_PENDING;
                t->due = now_s() + (double) retry_wait_ms / 1000.0;
            }
        }
        fflush(stdout);
        pthread_cond_broadcast(&cv);
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/*
 * The C plugin loader's filter path. The functions below are what a filter
 * .so resolves from the Fluent Bit executable (which CMake links with
 * ENABLE_EXPORTS); flbhost is linked with -rdynamic for the same effect.
 * fb: include/fluent-bit/flb_filter.h, src/flb_filter.c.
 */
#define FLB_FILTER_MODIFIED 1
#define FLB_FILTER_NOTOUCH  2
#define FLB_FILTER_LOGS     1

struct mk_list { struct mk_list *prev, *next; };

/* struct flb_filter_plugin, 3.0.0 .. 3.1.10 */
struct filter_plugin_v3_0 {
    int event_type, flags;
    char *name, *description;
    void *config_map;
    int (*cb_pre_run)(void *, void *, void *);
    int (*cb_init)(void *, void *, void *);
    int (*cb_filter)(const void *, size_t, const char *, int, void **, size_t *,
                     void *, void *, void *, void *);
    int (*cb_exit)(void *, void *);
    struct mk_list _head;
};
/* struct flb_filter_plugin, 3.2.0 .. 5.1.1 */
struct filter_plugin_v3_2 {
    int event_type, flags;
    char *name, *description;
    void *config_map;
    int (*cb_pre_run)(void *, void *, void *);
    int (*cb_init)(void *, void *, void *);
    int (*cb_filter)(const void *, size_t, const char *, int, void **, size_t *,
                     void *, void *, void *, void *);
    int (*cb_exit)(void *, void *);
    int (*cb_notification)(void *, void *, void *);
    struct mk_list _head;
};

/*
 * fb: src/flb_config_map.c flb_config_map_properties_check(), as the output
 * and filter property checks call it before cb_init: a property the map does
 * not name stops Fluent Bit. "active", "condition" and _debug.* are always
 * accepted; core keys (flb_output_set_property, flb_filter_set_property)
 * never reach the plugin's properties.
 */
static int properties_check(const struct flb_config_map *config_map, struct instance *ins,
                            const char *name, const char *kind, int filter)
{
    for (int k = 0; k < ins->nprops; k++) {
        const char *key = ins->props[k].key;
        if (core_key(key, filter) || strcasecmp(key, "active") == 0 ||
            strcasecmp(key, "condition") == 0 || strncasecmp(key, "_debug.", 7) == 0) continue;
        int found = 0;
        for (const struct flb_config_map *m = config_map; m->name && !found; m++) {
            size_t len = strlen(m->name);
            if (m->type == FLB_CONFIG_MAP_STR_PREFIX) {
                found = strncasecmp(key, m->name, len) == 0 && strlen(key) > len;
            } else {
                found = strcasecmp(key, m->name) == 0;
            }
        }
        if (!found) {
            fprintf(stderr, "[error] [config] %s: unknown configuration property '%s'\n", name, key);
            if (!filter) fprintf(stderr, "[error] [%s] failed to initialize '%s' plugin\n", kind, name);
            return 1;
        }
    }
    return 0;
}

/* fb: src/flb_filter.c flb_filter_get_property() -> flb_kv_get_key_value() */
const char *flb_filter_get_property(const char *key, void *f_ins)
{
    return host_get_property(key, f_ins);
}

/* fb: src/flb_filter.c flb_filter_set_context() */
void flb_filter_set_context(void *f_ins, void *context)
{
    ((struct instance *) f_ins)->context = context;
}

static const char *prop_of(struct instance *ins, const char *key)
{
    const char *v = NULL;
    for (int k = 0; k < ins->nprops; k++) {
        if (strcasecmp(ins->props[k].key, key) == 0) v = ins->props[k].val;
    }
    return v;
}

static struct filter_plugin_v3_2 fp;    /* the loader's copy of the struct */
static char flb_config_blob[64];        /* opaque struct flb_config: plugins must not read it */

static void load_c_filter(const char *so)
{
    /* fb: src/flb_plugin.c path_to_plugin_name(): flb-filter_x.so -> filter_x_plugin */
    char *path = strdup(so);
    if (!path) die(1, "out of memory");
    const char *base = basename(path);
    size_t blen = strlen(base);
    if (strncmp(base, "flb-", 4) != 0 || blen < 4 + 3 || strcmp(base + blen - 3, ".so") != 0) {
        die(1, "[plugin] invalid plugin name: %s", base);
    }
    char stname[256];
    snprintf(stname, sizeof(stname), "%.*s_plugin", (int) (blen - 4 - 3), base + 4);
    if (strncmp(stname, "filter_", 7) != 0) die(1, "[plugin] %s: this host loads C filters only", base);
    free(path);

    void *h = dlopen(so, RTLD_LAZY);
    if (!h) die(1, "[plugin] dlopen() %s", dlerror());
    void *symbol = sym(h, stname);
    if (!symbol) die(1, "[plugin] cannot load plugin '%s', registration structure is missing '%s'", so, stname);

    /*
     * Fluent Bit memcpy()s sizeof(struct flb_filter_plugin) of ITS build out
     * of the symbol. Check that the plugin's struct has exactly that size, as
     * the ELF symbol table records it: a mismatch means the .so was built for
     * another Fluent Bit.
     */
    int v30 = abi == 3 && abi_minor >= 0 && abi_minor < 2;
    size_t want = v30 ? sizeof(struct filter_plugin_v3_0) : sizeof(struct filter_plugin_v3_2);
    Dl_info info;
    const ElfW(Sym) *es = NULL;
    if (!dladdr1(symbol, &info, (void **) &es, RTLD_DL_SYMENT) || !es) die(1, "dladdr1 %s failed", stname);
    if ((size_t) es->st_size != want) {
        die(1, "%s is %zu bytes, but struct flb_filter_plugin of Fluent Bit %s is %zu: "
               "the plugin was built for another Fluent Bit (FLB_VERSION, see ABI.md)",
            stname, (size_t) es->st_size, v30 ? "3.0-3.1" : "3.2-5.x", want);
    }
    memset(&fp, 0, sizeof(fp));
    memcpy(&fp, symbol, want);     /* fb: flb_plugin_load(): flb_malloc + memcpy */
    if (v30) fp.cb_notification = NULL;
    int event_type = fp.event_type ? fp.event_type : FLB_FILTER_LOGS;   /* fb: flb_filter_new() */
    if (!(event_type & FLB_FILTER_LOGS)) die(1, "%s: event_type=%d lacks FLB_FILTER_LOGS", stname, event_type);
    if (!fp.name || !fp.name[0] || !fp.cb_filter) die(1, "%s: no name or no cb_filter", stname);
    /*
     * The config map: only abi 5 (--version says 5.1.1) has the 104-byte
     * struct flb_config_map this host reads; elsewhere a map would be read
     * with the wrong stride by the real Fluent Bit, so it is an error here.
     */
    if (fp.config_map && abi != 5) die(1, "%s: config_map set on abi %d; only abi 5 takes one", stname, abi);
    printf("load symbol=%s name=%s size=%zu layout=%s config_map=%d\n", stname, fp.name, want,
           v30 ? "3.0" : "3.2", fp.config_map != NULL);
}

/* fb: flb_filter_init_all() -> flb_filter_init(); 0 if every instance started */
static int init_c_filters(struct instance *fi, int n)
{
    for (int i = 0; i < n; i++) {
        struct instance *ins = &fi[i];
        const char *name = prop_of(ins, "name");
        if (name && strcasecmp(name, fp.name) != 0) die(1, "instance %d: name=%s but plugin is %s", i, name, fp.name);
        if (!prop_of(ins, "match") && !prop_of(ins, "match_regex")) {
            fprintf(stderr, "[filter] NO match rule for %s.%d filter instance, unloading.\n", fp.name, i);
            return 1;
        }
        /* fb: flb_filter_init() -> flb_filter_plugin_property_check(), before cb_init */
        if (fp.config_map && properties_check(fp.config_map, ins, fp.name, "filter", 1) != 0) {
            fprintf(stderr, "[error] [engine] filter initialization failed\n");
            return 1;     /* Fluent Bit refuses to start */
        }
        int rc = 0;
        if (fp.cb_pre_run) rc = fp.cb_pre_run(ins, flb_config_blob, NULL);
        if (rc == 0 && fp.cb_init) rc = fp.cb_init(ins, flb_config_blob, NULL);
        printf("init filter=%d rc=%d\n", i, rc);
        if (rc != 0) {
            fprintf(stderr, "Failed initialize filter %s.%d\n", fp.name, i);
            return 1;     /* Fluent Bit refuses to start */
        }
    }
    return 0;
}

/*
 * fb: src/flb_filter.c flb_filter_do(): the chunk through every matching
 * instance in order. Returns the final buffer (the input itself if no filter
 * modified it, else a malloc'ed one) in *out; 1 if a filter answered
 * something other than MODIFIED or NOTOUCH.
 */
static int filter_chunk(struct instance *fi, int n, const struct chunk *c, const void **out, size_t *out_size)
{
    const void *work = c->data;
    size_t size = c->size;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        struct instance *ins = &fi[i];
        const char *m = prop_of(ins, "match");
        if (m && fnmatch(m, tag, 0) != 0) continue;
        void *buf = NULL;
        size_t buf_size = 0;
        int rc = fp.cb_filter(work, size, tag, (int) strlen(tag), &buf, &buf_size, ins, NULL,
                              ins->context, flb_config_blob);
        printf("filter instance=%d chunk=%s rc=%s bytes=%zu\n", i, c->path,
               rc == FLB_FILTER_MODIFIED ? "MODIFIED" : rc == FLB_FILTER_NOTOUCH ? "NOTOUCH" : "OTHER",
               rc == FLB_FILTER_MODIFIED ? buf_size : size);
        if (rc != FLB_FILTER_MODIFIED) {
            if (rc != FLB_FILTER_NOTOUCH) bad = 1;
            if (buf) die(1, "filter returned a buffer without FLB_FILTER_MODIFIED (leak)");
            continue;
        }
        if (work != c->data) free((void *) work);    /* fb: flb_free() == free() */
        work = buf;
        size = buf_size;
        if (size == 0) break;     /* every record removed */
    }
    *out = work;
    *out_size = size;
    return bad;
}

/* fb: flb_filter_exit() -> flb_filter_instance_exit(): only with a context */
static void exit_c_filters(struct instance *fi, int n)
{
    for (int i = 0; i < n; i++) {
        if (fp.cb_exit && fi[i].context) {
            int rc = fp.cb_exit(fi[i].context, flb_config_blob);
            printf("exit filter=%d rc=%d\n", i, rc);
        }
    }
}

/* Filters only: every chunk through the instances, results to --filter-out. */
static int run_c_filter(const char *so)
{
    load_c_filter(so);
    if (init_c_filters(insts, ninsts) != 0) return 1;
    int bad = 0;
    for (int c = 0; c < nchunks; c++) {
        const void *work;
        size_t size;
        bad |= filter_chunk(insts, ninsts, &chunks[c], &work, &size);
        if (filter_out) {
            char *cp = strdup(chunks[c].path);
            char file[4096];
            snprintf(file, sizeof(file), "%s/%s", filter_out, basename(cp));
            free(cp);
            FILE *f = fopen(file, "wb");
            if (!f || (size > 0 && fwrite(work, 1, size, f) != size) || fclose(f) != 0) {
                die(1, "cannot write %s: %s", file, strerror(errno));
            }
            printf("out chunk=%s file=%s bytes=%zu\n", chunks[c].path, file, size);
        }
        if (work != chunks[c].data) free((void *) work);
    }
    exit_c_filters(insts, ninsts);
    printf("summary chunks=%d bad=%d\n", nchunks, bad);
    return bad;
}

static void load_chunk(struct chunk *c)
{
    static const char empty[1];
    struct stat st;
    int fd = open(c->path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) != 0) die(2, "cannot read chunk %s: %s", c->path, strerror(errno));
    c->size = (size_t) st.st_size;
    c->data = empty;
    if (c->size > 0) {
        /* read-only: Fluent Bit shares one chunk buffer among all outputs */
        c->data = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (c->data == MAP_FAILED) die(1, "mmap %s: %s", c->path, strerror(errno));
    }
    close(fd);
}

static void usage(void)
{
    die(2, "usage: flbhost [--abi 3|3.0|3.1|3.2|4|5] [--workers N] [--retries N] [--retry-wait MS] [--linger MS] [--reload N] "
           "[--tag T] [--filter-out DIR] [--filter flb-filter_NAME.so [-o k=v ...]] "
           "PLUGIN.so|flb-filter_NAME.so [-o key=value ...] "
           "[--instance -o key=value ...] [-- CHUNK ...]");
}

/* --filter mode: [FILTER] instances in front of the Go output's instances */
static const char *filter_so;
static struct instance *finsts;
static int nfinsts;

static struct instance *add_instance(struct instance **arr, int *n, int filter)
{
    *arr = realloc(*arr, sizeof(**arr) * (size_t) (*n + 1));
    if (!*arr) die(1, "out of memory");
    struct instance *i = &(*arr)[*n];
    memset(i, 0, sizeof(*i));
    i->filter = filter;
    i->id = (*n)++;
    i->log_level = FLB_LOG_INFO;
    i->retry_limit = -2;    /* unset: --retries applies */
    return i;
}

/* One load of the Go output plugin, from dlopen to dlclose. */
struct go_output {
    void *handle;
    unsigned char *raw;                 /* the def struct and its guard zone */
    struct def_v5 *def;                 /* common prefix access */
    struct flb_api *api;
    struct flb_config_map *config_map;  /* ABI 5: the keys the plugin registered */
};

static void load_go_output(const char *so, struct go_output *o)
{
    /* fb: src/flb_plugin_proxy.c flb_plugin_proxy_create() */
    void *h = dlopen(so, RTLD_LAZY);
    if (!h) die(1, "[proxy] error opening plugin %s: '%s'", so, dlerror());

    struct flb_api *api = xcalloc(1, sizeof(*api));    /* fb: src/flb_api.c */
    api->output_get_property = host_get_property;
    api->input_get_property = no_property;
    api->output_get_cmt_instance = no_cmt;
    api->input_get_cmt_instance = no_cmt;
    api->log_print = host_log_print;
    api->input_log_check = host_log_check;
    api->output_log_check = host_log_check;
    if (abi >= 4) {
        api->custom_get_property = no_property;
        api->custom_log_check = host_log_check;
    }

    /* def plus a guard zone that must survive FLBPluginRegister untouched */
    enum { GUARD = 64 };
    size_t dsz = abi == 3 ? sizeof(struct def_v3) : abi == 4 ? sizeof(struct def_v4)
                                                             : sizeof(struct def_v5);
    unsigned char *raw = malloc(dsz + GUARD);
    if (!raw) die(1, "out of memory");
    /* 3.x used flb_malloc (garbage), 4.2.3+ flb_calloc */
    memset(raw, abi == 3 ? 0xA5 : 0, dsz);
    memset(raw + dsz, 0x5A, GUARD);
    struct def_v5 *def = (struct def_v5 *) raw;      /* common prefix access */
    def->type = 0;  /* fb: src/flb_plugin.c flb_plugin_load_router() passes type 0 */

    /* fb: src/flb_plugin_proxy.c flb_plugin_proxy_register() */
    int (*pre_register)(int) = (int (*)(int)) sym(h, "FLBPluginPreRegister");
    if (pre_register && pre_register(0) == -1) die(1, "FLBPluginPreRegister failed");
    int (*cb_register)(void *) = (int (*)(void *)) sym(h, "FLBPluginRegister");
    if (!cb_register) die(1, "[proxy] %s: no FLBPluginRegister symbol", so);
    if (cb_register(def) == -1) die(1, "FLBPluginRegister returned -1");
    for (int i = 0; i < GUARD; i++) {
        if (raw[dsz + i] != 0x5A) {
            die(1, "FLBPluginRegister wrote past the %zu-byte abi-%d def struct (offset %zu): "
                   "it would corrupt the heap of a Fluent Bit with that layout (see ABI.md)",
                dsz, abi, dsz + (size_t) i);
        }
    }
    if (def->proxy != FLB_PROXY_GOLANG || def->type != FLB_PROXY_OUTPUT_PLUGIN) {
        die(1, "register: proxy=%d type=%d, want %d/%d (Go output)", def->proxy, def->type,
            FLB_PROXY_GOLANG, FLB_PROXY_OUTPUT_PLUGIN);
    }
    if (!def->name || !def->name[0]) die(1, "register: plugin set no name");
    int event_type = FLB_OUTPUT_LOGS;                 /* 0 => logs (fb v4.2.3+) */
    if (abi >= 4 && def->event_type != 0) event_type = def->event_type;
    if (!(event_type & FLB_OUTPUT_LOGS)) {
        die(1, "register: event_type=%d lacks FLB_OUTPUT_LOGS, no logs would be routed", event_type);
    }
    /* fb v5.1.1: flb_proxy_register_output() copies def->config_map */
    struct flb_config_map *config_map = abi >= 5 ? def->config_map : NULL;
    printf("register name=%s event_type=%d config_map=%d\n", def->name, event_type, config_map != NULL);

    /* fb: src/proxy/go/go.c proxy_go_output_register() */
    go.cb_init = (int (*)(struct flbgo_output_plugin *)) sym(h, "FLBPluginInit");
    if (!go.cb_init) die(1, "[go proxy]: could not load FLBPluginInit symbol");
    go.cb_flush = (int (*)(const void *, size_t, const char *)) sym(h, "FLBPluginFlush");
    go.cb_flush_ctx = (int (*)(void *, const void *, size_t, char *)) sym(h, "FLBPluginFlushCtx");
    go.cb_exit = (int (*)(void)) sym(h, "FLBPluginExit");
    go.cb_exit_ctx = (int (*)(void *)) sym(h, "FLBPluginExitCtx");
    go.name = strdup(def->name);
    if (!go.cb_flush && !go.cb_flush_ctx) die(1, "plugin exports neither FLBPluginFlush nor FLBPluginFlushCtx");

    o->handle = h;
    o->raw = raw;
    o->def = def;
    o->api = api;
    o->config_map = config_map;
}

/* 0, or 1 when Fluent Bit would refuse to start. */
static int init_go_outputs(struct go_output *o)
{
    /*
     * fb: src/flb_output.c flb_output_init_all() -> flb_proxy_output_cb_init()
     * -> proxy_go_output_init(). The shared struct's o_ins/context point at the
     * instance being initialised; after init they keep pointing at the last one.
     */
    for (int i = 0; i < ninsts; i++) {
        struct instance *ins = &insts[i];
        const char *n = NULL;
        for (int k = 0; k < ins->nprops; k++) {
            if (strcasecmp(ins->props[k].key, "name") == 0) n = ins->props[k].val;
        }
        if (n && strcasecmp(n, go.name) != 0) die(1, "instance %d: name=%s but plugin is %s", i, n, go.name);
        /*
         * fb: flb_output_init_all() -> flb_output_plugin_property_check() ->
         * flb_config_map_properties_check(), before cb_init: a property the
         * map does not name stops Fluent Bit. "active" and "condition" are
         * always accepted; core keys never reach the plugin's properties.
         */
        if (o->config_map && properties_check(o->config_map, ins, go.name, "output", 0) != 0) {
            return 1;     /* Fluent Bit refuses to start */
        }
        ins->ctx = xcalloc(1, sizeof(*ins->ctx));     /* fb: flb_output_new() */
        go.api = o->api;
        go.o_ins = ins;
        go.context = ins->ctx;
        int rc = go.cb_init(&go);
        printf("init instance=%d rc=%d\n", i, rc);
        if (rc <= 0) {
            fprintf(stderr, "[go proxy]: plugin '%s' failed to initialize\n"
                            "[output] failed to initialize '%s' plugin\n", go.name, go.name);
            return 1;     /* Fluent Bit refuses to start */
        }
    }
    int (*pre_run)(int) = (int (*)(int)) sym(o->handle, "FLBPluginOutputPreRun");
    for (int i = 0; pre_run && i < ninsts; i++) pre_run(0);   /* fb: flb_output_pre_run() */
    return 0;
}

/* Every chunk of the round (index r modulo reloads+1) to every instance;
 * returns the flushes made. */
static int flush_round(int round)
{
    /* chunk-major order */
    ntasks = 0;
    tasks = xcalloc((size_t) (nchunks * ninsts + 1), sizeof(*tasks));
    for (int c = 0; c < nchunks; c++) {
        if (c % (reloads + 1) != round) continue;
        for (int i = 0; i < ninsts; i++) {
            struct task *t = &tasks[ntasks++];
            t->chunk = c;
            t->inst = i;
            t->state = T_PENDING;     /* due 0: ready now; ties go in index order */
        }
    }
    if (workers <= 0) {
        worker(NULL);       /* workers 0: flushes run on the engine thread */
    }
    else {
        pthread_t *th = xcalloc((size_t) workers, sizeof(*th));
        for (int i = 0; i < workers; i++) {
            if (pthread_create(&th[i], NULL, worker, NULL) != 0) die(1, "pthread_create failed");
        }
        for (int i = 0; i < workers; i++) pthread_join(th[i], NULL);
        free(th);
    }

    if (linger_ms > 0) {
        struct timespec ts = { linger_ms / 1000, (linger_ms % 1000) * 1000000L };
        printf("idle linger_ms=%ld\n", linger_ms);
        fflush(stdout);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }

    int n = ntasks;
    free(tasks);
    tasks = NULL;
    return n;
}

static void exit_go_outputs(struct go_output *o)
{
    /*
     * fb: src/flb_output.c flb_output_exit() -> flb_proxy_output_cb_exit() ->
     * proxy_go_output_destroy(): per instance, ExitCtx if exported, else Exit.
     */
    void (*pre_exit)(int) = (void (*)(int)) sym(o->handle, "FLBPluginOutputPreExit");
    for (int i = 0; i < ninsts; i++) {
        const char *cb = "none";
        int rc = 0;
        if (pre_exit) pre_exit(0);
        if (go.cb_exit_ctx) {
            cb = "FLBPluginExitCtx";
            rc = go.cb_exit_ctx(insts[i].ctx->remote_context);
        }
        else if (go.cb_exit) {
            cb = "FLBPluginExit";
            rc = go.cb_exit();
        }
        printf("exit instance=%d cb=%s rc=%d\n", i, cb, rc);
        free(insts[i].ctx);
    }
}

static void unload_go_output(struct go_output *o)
{
    /* fb: flb_proxy_output_cb_destroy() -> flb_plugin_proxy_destroy() */
    void (*unregister)(void *) = (void (*)(void *)) sym(o->handle, "FLBPluginUnregister");
    if (unregister) unregister(o->def);
    free(go.name);
    free(o->raw);
    free(o->api);
    dlclose(o->handle);     /* Go c-shared objects are NODELETE: stays mapped */
}

int main(int argc, char **argv)
{
    const char *so = NULL;
    int a;

    setvbuf(stdout, NULL, _IOLBF, 0);
    /*
     * fb: src/fluent-bit.c -V/--version -> flb_version(). A plugin may run
     * the host executable to learn its version; the child learns the
     * emulated one from the parent's environment.
     */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        const char *e = getenv("FLBHOST_ABI");
        int v = e ? atoi(e) : 5;
        printf("Fluent Bit v%s\nGit commit: flbhost\n", v == 3 ? "3.2.10" : v == 4 ? "4.2.8" : "5.1.1");
        return 0;
    }
    for (a = 1; a < argc; a++) {
        const char *s = argv[a];
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(s, "--") == 0) { a++; break; }
        if (strcmp(s, "--abi") == 0 && v) {
            char *dot;
            abi = (int) strtol(v, &dot, 10);
            if (*dot == '.') abi_minor = atoi(dot + 1);
            a++;
        }
        else if (strcmp(s, "--filter-out") == 0 && v) { filter_out = v; a++; }
        else if (strcmp(s, "--workers") == 0 && v) { workers = atoi(v); a++; }
        else if (strcmp(s, "--retries") == 0 && v) { retries = atoi(v); a++; }
        else if (strcmp(s, "--retry-wait") == 0 && v) { retry_wait_ms = atol(v); a++; }
        else if (strcmp(s, "--linger") == 0 && v) { linger_ms = atol(v); a++; }
        else if (strcmp(s, "--reload") == 0 && v) { reloads = atoi(v); a++; }
        else if (strcmp(s, "--tag") == 0 && v) { tag = v; a++; }
        else if (strcmp(s, "--filter") == 0 && v && !so && !filter_so) {
            filter_so = v;
            add_instance(&finsts, &nfinsts, 1);
            a++;
        }
        else if (strcmp(s, "--instance") == 0 && so) add_instance(&insts, &ninsts, c_plugin);
        else if (strcmp(s, "--instance") == 0 && filter_so) add_instance(&finsts, &nfinsts, 1);
        else if (strcmp(s, "-o") == 0 && v && so) { set_property(&insts[ninsts - 1], v); a++; }
        else if (strcmp(s, "-o") == 0 && v && filter_so) { set_property(&finsts[nfinsts - 1], v); a++; }
        else if (s[0] != '-' && !so) {
            const char *b = strrchr(s, '/');
            so = s;
            c_plugin = strncmp(b ? b + 1 : s, "flb-", 4) == 0;
            add_instance(&insts, &ninsts, c_plugin);
        }
        else usage();
    }
    if (!so || abi < 3 || abi > 5 || retries < -1 || reloads < 0 || (filter_so && c_plugin)) usage();
    {
        /*
         * The emulated version goes into the environment the process starts
         * with: a Go runtime copies that (not the current environ) when the
         * plugin is loaded, and hands it to the children it runs.
         */
        char v[8];
        const char *e = getenv("FLBHOST_ABI");
        snprintf(v, sizeof v, "%d", abi);
        if (!e || strcmp(e, v) != 0) {
            setenv("FLBHOST_ABI", v, 1);
            execv("/proc/self/exe", argv);
            die(1, "re-exec: %s", strerror(errno));
        }
    }
    for (int i = 0; i < ninsts; i++) {
        if (insts[i].retry_limit == -2) insts[i].retry_limit = retries;
    }
    nchunks = argc - a;
    chunks = xcalloc((size_t) nchunks, sizeof(*chunks));
    for (int i = 0; i < nchunks; i++) {
        chunks[i].path = argv[a + i];
        load_chunk(&chunks[i]);
    }
    if (c_plugin) return run_c_filter(so);

    /*
     * --filter: the C filter runs where Fluent Bit runs it, when an input
     * appends records, before any output sees them (fb: flb_input_chunk
     * append -> flb_filter_do()); both plugins live in this one process. A
     * chunk the filter emptied never reaches an output.
     */
    if (filter_so) {
        load_c_filter(filter_so);
        if (init_c_filters(finsts, nfinsts) != 0) return 1;
        int kept = 0;
        for (int c = 0; c < nchunks; c++) {
            const void *work;
            size_t size;
            if (filter_chunk(finsts, nfinsts, &chunks[c], &work, &size) != 0) die(1, "filter answered neither MODIFIED nor NOTOUCH");
            if (work != chunks[c].data && chunks[c].size > 0) munmap((void *) chunks[c].data, chunks[c].size);
            if (size == 0) continue;
            chunks[kept] = chunks[c];
            chunks[kept].data = work;     /* filter output: never freed, the host exits */
            chunks[kept].size = size;
            kept++;
        }
        nchunks = kept;
    }

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &ca);

    /*
     * --reload N: Fluent Bit's hot reload (fb: src/flb_reload.c) stops the
     * whole context (exit callbacks, unregister, dlclose) and builds a new
     * one in the same process, loading the external plugins again
     * (flb_reload_reinstantiate_external_plugins): register, init, flush
     * and exit run N+1 times here, round r flushing the chunks whose index
     * is r modulo N+1.
     */
    int all_tasks = 0;
    for (int round = 0; round <= reloads; round++) {
        if (round > 0) {
            printf("reload round=%d\n", round);
            fflush(stdout);
        }
        struct go_output o;
        load_go_output(so, &o);
        if (init_go_outputs(&o) != 0) return 1;     /* Fluent Bit refuses to start */
        all_tasks += flush_round(round);
        exit_go_outputs(&o);
        unload_go_output(&o);
    }

    if (filter_so) exit_c_filters(finsts, nfinsts);
    printf("summary ok=%d retried=%d failed=%d\n", n_ok, n_retried, n_failed);
    return n_ok == all_tasks ? 0 : 1;
}
