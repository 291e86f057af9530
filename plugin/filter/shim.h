/*
 * The registration structure Fluent Bit's C plugin loader reads from
 * flb-filter_kaudit.so: src/flb_plugin.c flb_plugin_load() dlsym()s
 * "filter_kaudit_plugin" and memcpy()s sizeof(struct flb_filter_plugin) of
 * its own build, so the layout below must match the target version exactly.
 * KAUDIT_FLB_LAYOUT is set per target by a build tag (layout_*.go); the
 * layouts are checked against include/fluent-bit/flb_filter.h of each
 * version in scripts/flbhost/ABI.md. Written from that description, not
 * copied: only the field order and types are the ABI.
 */
#ifndef KAUDIT_FILTER_SHIM_H
#define KAUDIT_FILTER_SHIM_H

#include <stddef.h>

#if !defined(KAUDIT_FLB_LAYOUT)
#error "KAUDIT_FLB_LAYOUT is not set: build with make (FLB_VERSION=3.0|3.1|3.2|4|5)"
#elif KAUDIT_FLB_LAYOUT != 300 && KAUDIT_FLB_LAYOUT != 302
#error "unknown KAUDIT_FLB_LAYOUT"
#endif

/* Fluent Bit's return codes for cb_filter (flb_filter.h). */
#define KAUDIT_FLB_FILTER_MODIFIED 1
#define KAUDIT_FLB_FILTER_NOTOUCH  2
/* event_type: FLB_FILTER_LOGS; 0 would mean the same. */
#define KAUDIT_FLB_FILTER_LOGS 1

struct kaudit_mk_list { struct kaudit_mk_list *prev, *next; };

struct kaudit_flb_filter_plugin {
    int event_type;
    int flags;
    char *name;
    char *description;
    void *config_map;   /* struct flb_config_map *, or NULL: every property through */
    int (*cb_pre_run)(void *f_ins, void *config, void *data);
    int (*cb_init)(void *f_ins, void *config, void *data);
    int (*cb_filter)(const void *data, size_t bytes, const char *tag, int tag_len,
                     void **out_buf, size_t *out_bytes, void *f_ins, void *i_ins,
                     void *filter_context, void *config);
    int (*cb_exit)(void *filter_context, void *config);
#if KAUDIT_FLB_LAYOUT >= 302
    int (*cb_notification)(void *f_ins, void *config, void *data);  /* 3.2+ */
#endif
    struct kaudit_mk_list _head;  /* Fluent Bit links its copy, not ours */
};

/* Called from Go: read one property of the filter instance, NULL if unset. */
const char *kaudit_get_property(void *f_ins, const char *key);

#endif
