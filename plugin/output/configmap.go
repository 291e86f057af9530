package main

/*
#include <stdint.h>
#include <stdlib.h>

// struct kaudit_config_map: plugin/flbabi/configmap.h, shared with the
// filter.
#cgo CFLAGS: -I${SRCDIR}/../flbabi
#include "configmap.h"

// struct flb_plugin_proxy_def as of v5.1.1: config_map at offset 40. Only
// ever written after the host said it is 5.1.1 or later: on earlier
// versions the def is 32 or 40 bytes long and the write would corrupt the
// heap (scripts/flbhost/ABI.md).
struct kaudit_def_v5_1_1 {
	int type;
	int proxy;
	int flags;
	char *name;
	char *description;
	int event_type;
	struct kaudit_config_map *config_map;
};

static struct kaudit_config_map *kaudit_config_map_new(int n) {
	return calloc((size_t) n + 1, sizeof(struct kaudit_config_map));
}

static void kaudit_def_set_config_map(void *def, struct kaudit_config_map *m) {
	((struct kaudit_def_v5_1_1 *) def)->config_map = m;
}

static int kaudit_config_map_size(void) { return sizeof(struct kaudit_config_map); }
*/
import "C"

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/flbabi"
)

// Types of flb_config_map entries.
const (
	flbConfigMapStr       = C.KAUDIT_FLB_CONFIG_MAP_STR
	flbConfigMapStrPrefix = C.KAUDIT_FLB_CONFIG_MAP_STR_PREFIX
)

// lenientKeys are accepted besides kaudit's own: keys Fluent Bit's core
// takes, which reach the plugin's properties when their value is empty,
// and prefixes of core families.
var (
	lenientKeys     = []string{"host", "port", "ipv6", "retry_limit", "workers", "match", "match_regex", "alias", "log_level", "log_suppress_interval", "routes", "tls"}
	lenientPrefixes = []string{"storage.", "tls.", "net.", "oauth2"}
)

var (
	mapOnce sync.Once
	cmap    *C.struct_kaudit_config_map
)

// configMap builds, once per process, the C config map of kaudit's output
// keys; Fluent Bit keeps pointing at it as at a plugin's static array.
func configMap() *C.struct_kaudit_config_map {
	mapOnce.Do(func() {
		type entry struct {
			typ        int
			name, desc string
		}
		var es []entry
		for _, k := range flbabi.Keys(config.Output) {
			es = append(es, entry{flbConfigMapStr, k.Name, k.Help})
		}
		for _, k := range lenientKeys {
			es = append(es, entry{flbConfigMapStr, k, "Fluent Bit core key"})
		}
		for _, p := range lenientPrefixes {
			es = append(es, entry{flbConfigMapStrPrefix, p, "Fluent Bit core keys"})
		}
		m := C.kaudit_config_map_new(C.int(len(es)))
		if m == nil {
			return
		}
		for i, e := range es {
			C.kaudit_config_map_entry(m, C.int(i), C.int(e.typ), C.CString(e.name), C.CString(e.desc))
		}
		cmap = m
	})
	return cmap
}

// registerConfigMap hands Fluent Bit kaudit's keys when its Go proxy
// takes them (5.1.1 on), so that Fluent Bit itself refuses a
// misspelt key at start: the plugin cannot, since the proxy only answers
// lookups by name. The version comes from the host executable
// (`/proc/self/exe --version`); anything else, or no answer, registers
// nothing.
func registerConfigMap(def unsafe.Pointer) bool {
	if C.kaudit_config_map_size() != 104 || !hostTakesConfigMap() {
		return false
	}
	m := configMap()
	if m == nil {
		return false
	}
	C.kaudit_def_set_config_map(def, m)
	return true
}

var versionRe = regexp.MustCompile(`Fluent Bit v(\d+)\.(\d+)\.(\d+)`)

func hostTakesConfigMap() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/proc/self/exe", "--version").Output()
	if err != nil {
		return false
	}
	return configMapVersion(string(out))
}

// configMapVersion reports whether the `--version` output names a Fluent
// Bit whose proxy definition carries config_map and whose config map
// layout is the one above: 5.1.x from 5.1.1 on, the versions read. A later
// minor may change either; it registers nothing until it has been read.
func configMapVersion(out string) bool {
	m := versionRe.FindStringSubmatch(out)
	if m == nil {
		return false
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v[0] == 5 && v[1] == 1 && v[2] >= 1
}
