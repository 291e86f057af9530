/*
 * struct flb_config_map (include/fluent-bit/flb_config_map.h) of Fluent Bit
 * v5.0.3 to v5.1.1 (the struct is the same in every tag between them; the
 * mirror was read tag by tag): the leading fields a plugin fills, then the
 * lookup value (a union, the raw template added in 5.0.3, a list pointer and
 * a list head) and a list head the core fills when it copies the map per
 * instance. The array stride is ABI: 104 bytes here, 96 before 5.0.3. Shared
 * by out_kaudit.so and flb-filter_kaudit.so; each decides for itself which
 * Fluent Bit versions it hands an array of these to.
 */
#ifndef KAUDIT_FLB_CONFIG_MAP_H
#define KAUDIT_FLB_CONFIG_MAP_H

#include <stdint.h>

/* Types of entries (FLB_CONFIG_MAP_STR, FLB_CONFIG_MAP_STR_PREFIX). */
#define KAUDIT_FLB_CONFIG_MAP_STR        0
#define KAUDIT_FLB_CONFIG_MAP_STR_PREFIX 1

struct kaudit_config_map {
	int type;
	char *name;
	char *def_value;
	int flags;
	int set_property;
	uintptr_t offset;
	char *desc;
	unsigned char value[40];
	unsigned char head[16];
};

_Static_assert(sizeof(struct kaudit_config_map) == 104, "struct flb_config_map of 5.0.3..5.1.x is 104 bytes");

/* One entry of a map whose last entry stays zero (name NULL ends it). */
static inline void kaudit_config_map_entry(struct kaudit_config_map *m, int i, int type, char *name, char *desc)
{
	m[i].type = type;
	m[i].name = name;
	m[i].desc = desc;
}

/*
 * Whether Fluent Bit major.minor.patch has this layout: 5.0.3 through 5.1.x,
 * the tags read. A later minor may change it; it gets nothing until read.
 */
static inline int kaudit_config_map_version(int major, int minor, int patch)
{
	return major == 5 && ((minor == 0 && patch >= 3) || minor == 1);
}

#endif
