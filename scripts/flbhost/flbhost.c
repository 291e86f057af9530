/*
 * flbhost: load a Fluent Bit Go output plugin (c-shared .so) the way Fluent
 * Bit's Go proxy does, flush raw chunk files through it and report what the
 * plugin returned. See ABI.md next to this file for the sources it mirrors;
 * "fb:" comments name the Fluent Bit file (tags v3.2.10, v4.2.8, v5.1.1).
 *
 * Build: cc -O2 -Wall -Wextra -o flbhost flbhost.c -ldl -lpthread
 *
 * Usage: flbhost [--abi 3|4|5] [--workers N] [--retries N] [--retry-wait MS]
 *                [--linger MS] [--tag T] PLUGIN.so [-o key=value ...]
 *                [--instance -o key=value ...] [-- CHUNKFILE ...]
 *
 * stdout (one line each, machine readable):
 *   register name=<n> event_type=<n>
 *   init instance=<i> rc=<n>
 *   flush instance=<i> chunk=<path> attempt=<n> rc=<OK|RETRY|ERROR>
 *   drop instance=<i> chunk=<path> reason=<error|retries_exhausted|no_retries>
 *   idle linger_ms=<n>   (--linger: every flush done, exit callbacks after n ms,
 *                         so a test can scrape the plugin's metrics meanwhile)
 *   exit instance=<i> cb=<FLBPluginExitCtx|FLBPluginExit|none> rc=<n>
 *   summary ok=<pairs OK> retried=<attempts that returned RETRY> failed=<pairs dropped>
 * Exit status: 0 if every chunk x instance pair ended OK, 1 otherwise
 * (including a refused start), 2 on usage errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
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
    int id;
    struct prop *props;
    int nprops;
    int log_level;
    int retry_limit;
    struct flb_plugin_proxy_context *ctx;
};

struct chunk { const char *path; const void *data; size_t size; };

enum { T_PENDING, T_RUNNING, T_DONE };
struct task { int inst, chunk, attempts, retries, state; double due; };

static int abi = 5;
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

static int core_key(const char *k)
{
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
    p->core = core_key(p->key);
    if (!p->core || !p->val) return;

    if (strcasecmp(p->key, "log_level") == 0) {
        ins->log_level = log_level_str(p->val);
        if (ins->log_level < 0) die(1, "invalid log_level '%s'", p->val);
    }
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
    die(2, "usage: flbhost [--abi 3|4|5] [--workers N] [--retries N] [--retry-wait MS] [--linger MS] "
           "[--tag T] PLUGIN.so [-o key=value ...] [--instance -o key=value ...] [-- CHUNK ...]");
}

static struct instance *new_instance(void)
{
    insts = realloc(insts, sizeof(*insts) * (size_t) (ninsts + 1));
    if (!insts) die(1, "out of memory");
    struct instance *i = &insts[ninsts];
    memset(i, 0, sizeof(*i));
    i->id = ninsts++;
    i->log_level = FLB_LOG_INFO;
    i->retry_limit = -2;    /* unset: --retries applies */
    return i;
}

int main(int argc, char **argv)
{
    const char *so = NULL;
    int a;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (a = 1; a < argc; a++) {
        const char *s = argv[a];
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(s, "--") == 0) { a++; break; }
        if (strcmp(s, "--abi") == 0 && v) { abi = atoi(v); a++; }
        else if (strcmp(s, "--workers") == 0 && v) { workers = atoi(v); a++; }
        else if (strcmp(s, "--retries") == 0 && v) { retries = atoi(v); a++; }
        else if (strcmp(s, "--retry-wait") == 0 && v) { retry_wait_ms = atol(v); a++; }
        else if (strcmp(s, "--linger") == 0 && v) { linger_ms = atol(v); a++; }
        else if (strcmp(s, "--tag") == 0 && v) { tag = v; a++; }
        else if (strcmp(s, "--instance") == 0 && so) new_instance();
        else if (strcmp(s, "-o") == 0 && v && so) { set_property(&insts[ninsts - 1], v); a++; }
        else if (s[0] != '-' && !so) { so = s; new_instance(); }
        else usage();
    }
    if (!so || abi < 3 || abi > 5 || retries < -1) usage();
    for (int i = 0; i < ninsts; i++) {
        if (insts[i].retry_limit == -2) insts[i].retry_limit = retries;
    }
    nchunks = argc - a;
    chunks = xcalloc((size_t) nchunks, sizeof(*chunks));
    for (int i = 0; i < nchunks; i++) {
        chunks[i].path = argv[a + i];
        load_chunk(&chunks[i]);
    }

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
    if (abi >= 5 && def->config_map) die(1, "register: config_map set; host cannot emulate it");
    printf("register name=%s event_type=%d\n", def->name, event_type);

    /* fb: src/proxy/go/go.c proxy_go_output_register() */
    go.cb_init = (int (*)(struct flbgo_output_plugin *)) sym(h, "FLBPluginInit");
    if (!go.cb_init) die(1, "[go proxy]: could not load FLBPluginInit symbol");
    go.cb_flush = (int (*)(const void *, size_t, const char *)) sym(h, "FLBPluginFlush");
    go.cb_flush_ctx = (int (*)(void *, const void *, size_t, char *)) sym(h, "FLBPluginFlushCtx");
    go.cb_exit = (int (*)(void)) sym(h, "FLBPluginExit");
    go.cb_exit_ctx = (int (*)(void *)) sym(h, "FLBPluginExitCtx");
    go.name = strdup(def->name);
    if (!go.cb_flush && !go.cb_flush_ctx) die(1, "plugin exports neither FLBPluginFlush nor FLBPluginFlushCtx");

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
        ins->ctx = xcalloc(1, sizeof(*ins->ctx));     /* fb: flb_output_new() */
        go.api = api;
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
    int (*pre_run)(int) = (int (*)(int)) sym(h, "FLBPluginOutputPreRun");
    for (int i = 0; pre_run && i < ninsts; i++) pre_run(0);   /* fb: flb_output_pre_run() */

    /* flush: every chunk to every instance, chunk-major order */
    ntasks = nchunks * ninsts;
    tasks = xcalloc((size_t) ntasks, sizeof(*tasks));
    for (int c = 0; c < nchunks; c++) {
        for (int i = 0; i < ninsts; i++) {
            struct task *t = &tasks[c * ninsts + i];
            t->chunk = c;
            t->inst = i;
            t->state = T_PENDING;     /* due 0: ready now; ties go in index order */
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &ca);
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

    /*
     * fb: src/flb_output.c flb_output_exit() -> flb_proxy_output_cb_exit() ->
     * proxy_go_output_destroy(): per instance, ExitCtx if exported, else Exit.
     */
    void (*pre_exit)(int) = (void (*)(int)) sym(h, "FLBPluginOutputPreExit");
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

    /* fb: flb_proxy_output_cb_destroy() -> flb_plugin_proxy_destroy() */
    void (*unregister)(void *) = (void (*)(void *)) sym(h, "FLBPluginUnregister");
    if (unregister) unregister(def);
    free(go.name);
    free(raw);
    free(api);
    dlclose(h);     /* Go c-shared objects are NODELETE: stays mapped */

    printf("summary ok=%d retried=%d failed=%d\n", n_ok, n_retried, n_failed);
    return n_ok == ntasks ? 0 : 1;
}
