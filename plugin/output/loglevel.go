package main

/*
// The leading members of Fluent Bit's struct flb_api (include/fluent-bit/
// flb_api.h), identical in every supported version (3.x, 4.x, 5.x):
// fluent-bit-go declares only the first. output_log_check(ins, level) is
// flb_output_log_check(): level <= ins->log_level, the instance's own
// log_level or, without one, the service's.
struct kaudit_flb_api {
	void *output_get_property;
	void *input_get_property;
	void *output_get_cmt_instance;
	void *input_get_cmt_instance;
	void *log_print;
	int (*input_log_check)(void *, int);
	int (*output_log_check)(void *, int);
};

// The leading members of src/proxy/go/go.h's struct flbgo_output_plugin.
struct kaudit_flbgo_output_plugin {
	char *name;
	void *api;
	void *o_ins;
	void *context;
};

// kaudit_log_level returns the instance's Fluent Bit log level (0 off,
// 1 error ... 5 trace), or -1 when the host does not say. Only valid
// during FLBPluginInit: o_ins is the instance being initialised then.
static int kaudit_log_level(void *plugin) {
	struct kaudit_flbgo_output_plugin *p = plugin;
	if (!p || !p->api || !p->o_ins) return -1;
	struct kaudit_flb_api *api = p->api;
	if (!api->output_log_check) return -1;
	int level = 0;
	for (int l = 1; l <= 5; l++) {
		if (api->output_log_check(p->o_ins, l)) level = l;
	}
	return level;
}
*/
import "C"

import (
	"unsafe"

	"github.com/kaudit/kaudit/plugin/output/instance"
)

// logOptions reads the instance's log_level from the proxy, so kaudit's
// lines obey it as Fluent Bit's own plugins' do: `log_level` is consumed by
// the core and never reaches FLBPluginConfigKey.
func logOptions(plugin unsafe.Pointer) instance.Options {
	lvl := int(C.kaudit_log_level(plugin))
	return instance.Options{LogLevel: lvl, LogLevelKnown: lvl >= 0}
}
