/*
 * The C half of flb-filter_kaudit.so: the registration structure and three
 * callbacks that hand over to the exported Go functions in main.go. Fluent
 * Bit's executable is linked with exported symbols (CMake ENABLE_EXPORTS), so
 * flb_filter_get_property and flb_filter_set_context resolve against it when
 * the loader dlopen()s this file. They are weak so that a host without them
 * fails cb_init with a clear line instead of failing to load.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "configmap.h"      /* plugin/flbabi: struct flb_config_map of 5.0.3..5.1.x */
#include "keys_gen.h"       /* plugin/filter/genkeys: the filter's keys */
#include "_cgo_export.h"

extern char **environ;
extern struct kaudit_flb_filter_plugin filter_kaudit_plugin;

extern const char *flb_filter_get_property(const char *key, void *ins) __attribute__((weak));
extern void flb_filter_set_context(void *ins, void *context) __attribute__((weak));

/* One per instance: Go keeps the instance in a table, C holds its id. */
struct kaudit_ctx { long long id; };

const char *kaudit_get_property(void *f_ins, const char *key)
{
    return flb_filter_get_property(key, f_ins);
}

/*
 * The instance's log_level (Fluent Bit's numbering, 0 off .. 5 trace): the
 * core takes the key out of the properties, so it is read where every
 * supported version keeps it, the third int of struct flb_filter_instance
 * (event_type, id, log_level: the same in 3.0 .. 5.1).
 */
struct kaudit_filter_instance_head { int event_type; int id; int log_level; };

static int cb_init(void *f_ins, void *config, void *data)
{
    (void) config;
    (void) data;
    if (!flb_filter_get_property || !flb_filter_set_context) {
        kauditFilterHostMissing();
        return -1;
    }
    struct kaudit_ctx *c = calloc(1, sizeof(*c));
    if (!c) return -1;
    c->id = kauditFilterInit(f_ins, ((struct kaudit_filter_instance_head *) f_ins)->log_level);
    if (c->id <= 0) {
        free(c);
        return -1;      /* Go logged the one line naming the key */
    }
    flb_filter_set_context(f_ins, c);
    return 0;
}

static int cb_filter(const void *data, size_t bytes, const char *tag, int tag_len,
                     void **out_buf, size_t *out_bytes, void *f_ins, void *i_ins,
                     void *filter_context, void *config)
{
    (void) f_ins;
    (void) i_ins;
    (void) config;
    struct kaudit_ctx *c = filter_context;
    *out_buf = NULL;
    *out_bytes = 0;
    if (!c) return KAUDIT_FLB_FILTER_MODIFIED;   /* no instance: drop, never pass */
    return kauditFilterChunk(c->id, (void *) data, bytes, (char *) tag, tag_len, out_buf, out_bytes);
}

static int cb_exit(void *filter_context, void *config)
{
    (void) config;
    struct kaudit_ctx *c = filter_context;
    if (c) {
        kauditFilterExit(c->id);
        free(c);
    }
    return 0;
}

/*
 * The config map: the filter's keys and nothing else. Fluent Bit's core
 * takes match, match_regex, alias, log_level and log_suppress_interval out of
 * the properties before it checks them against the map (src/flb_filter.c
 * flb_filter_set_property), and the check itself lets active, condition and
 * _debug.* through (src/flb_config_map.c flb_config_map_properties_check).
 * One extra zero entry ends the array.
 */
static struct kaudit_config_map kaudit_filter_map[KAUDIT_FILTER_NKEYS + 1];

/*
 * Whether the host is a Fluent Bit whose struct flb_config_map is the
 * 104-byte one of configmap.h: 5.0.3 to 5.1.x, the versions read. Asks the
 * host executable, as the output does: `/proc/self/exe --version`, five
 * seconds at most. Anything else (another version, no answer, not Fluent
 * Bit) is no: a map of the wrong stride would crash Fluent Bit, a missing
 * map only lets a misspelt key through to plugin/config's typo checks.
 */
static int kaudit_host_takes_config_map(void)
{
    int fds[2];
    if (pipe(fds) != 0) return 0;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = { "/proc/self/exe", "--version", NULL };
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return 0;
    }
    char out[4096];
    size_t n = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = 5000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || n >= sizeof(out) - 1) break;
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        int pr = poll(&p, 1, (int) left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        ssize_t r = read(fds[0], out + n, sizeof(out) - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t) r;
    }
    close(fds[0]);
    out[n] = 0;
    kill(pid, SIGKILL);     /* done or hung: either way it has nothing more to say */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}

    const char *v = strstr(out, "Fluent Bit v");
    int major, minor, patch;
    if (!v || sscanf(v, "Fluent Bit v%d.%d.%d", &major, &minor, &patch) != 3) return 0;
    return kaudit_config_map_version(major, minor, patch);
}

/*
 * Runs when the loader dlopen()s this file, before it copies
 * filter_kaudit_plugin (src/flb_plugin.c flb_plugin_load: dlopen, dlsym,
 * memcpy), so the copy carries the map. C only: the Go runtime starts on
 * its own thread at load and is not ready here.
 */
__attribute__((constructor)) static void kaudit_filter_config_map_init(void)
{
    if (!kaudit_host_takes_config_map()) return;
    for (int i = 0; i < KAUDIT_FILTER_NKEYS; i++) {
        kaudit_config_map_entry(kaudit_filter_map, i, KAUDIT_FLB_CONFIG_MAP_STR,
                                (char *) kaudit_filter_keys[i].name,
                                (char *) kaudit_filter_keys[i].desc);
    }
    filter_kaudit_plugin.config_map = kaudit_filter_map;
}

struct kaudit_flb_filter_plugin filter_kaudit_plugin = {
    .event_type = KAUDIT_FLB_FILTER_LOGS,
    .flags = 0,
    .name = "kaudit",
    .description = "Kubernetes audit events: redacted, with detections (kaudit)",
    .config_map = NULL,     /* set by kaudit_filter_config_map_init() on 5.0.3..5.1.x */
    .cb_pre_run = NULL,
    .cb_init = cb_init,
    .cb_filter = cb_filter,
    .cb_exit = cb_exit,
};
