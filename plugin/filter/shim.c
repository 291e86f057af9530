/*
 * The C half of flb-filter_kaudit.so: the registration structure and three
 * callbacks that hand over to the exported Go functions in main.go. Fluent
 * Bit's executable is linked with exported symbols (CMake ENABLE_EXPORTS), so
 * flb_filter_get_property and flb_filter_set_context resolve against it when
 * the loader dlopen()s this file. They are weak so that a host without them
 * fails cb_init with a clear line instead of failing to load.
 */
#include <stdint.h>
#include <stdlib.h>

#include "shim.h"
#include "_cgo_export.h"

extern const char *flb_filter_get_property(const char *key, void *ins) __attribute__((weak));
extern void flb_filter_set_context(void *ins, void *context) __attribute__((weak));

/* One per instance: Go keeps the instance in a table, C holds its id. */
struct kaudit_ctx { long long id; };

const char *kaudit_get_property(void *f_ins, const char *key)
{
    return flb_filter_get_property(key, f_ins);
}

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
    c->id = kauditFilterInit(f_ins);
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

struct kaudit_flb_filter_plugin filter_kaudit_plugin = {
    .event_type = KAUDIT_FLB_FILTER_LOGS,
    .flags = 0,
    .name = "kaudit",
    .description = "Kubernetes audit events: redacted, with detections (kaudit)",
    .config_map = NULL,
    .cb_pre_run = NULL,
    .cb_init = cb_init,
    .cb_filter = cb_filter,
    .cb_exit = cb_exit,
};
