// Command output is out_kaudit.so, the Fluent Bit output plugin, built with
// -buildmode=c-shared and loaded by `fluent-bit -e out_kaudit.so`. It is glue
// only: the exports Fluent Bit's Go proxy calls, each guarded so that no
// panic crosses into Fluent Bit. The work is in plugin/output/instance.
package main

import "C"

import (
	"runtime/debug"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/kaudit/kaudit/plugin/output/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/plugin/profile"
)

// Version is set at build time (-ldflags -X main.Version=...).
var Version = "dev"

func main() {}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc int) {
	defer guard("register", &rc, output.FLB_ERROR)
	rc = output.FLBPluginRegister(def, "kaudit", "Kubernetes audit logs to Loki: redacted, with detections as labels")
	registerConfigMap(def)
	return rc
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) (rc int) {
	defer guard("init", &rc, output.FLB_ERROR)
	in, err := instance.NewWith(getter{plugin}, Version, logOptions(plugin))
	if err != nil {
		// One line naming the key; Fluent Bit then refuses to start.
		pipeline.Logf(pipeline.LogError, "init", "%v", err)
		return output.FLB_ERROR
	}
	startProfile(in)
	output.FLBPluginSetContext(plugin, in)
	return output.FLB_OK
}

// FLBPluginFlush is the context-less callback of Fluent Bit versions before
// FLBPluginFlushCtx existed; every supported version calls the Ctx form, so
// this is only a safety net that loses nothing.
//
//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) int {
	pipeline.Logf(pipeline.LogError, "flush", "called without a context: this Fluent Bit is too old for kaudit")
	return output.FLB_RETRY
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	// A panic here is a bug in kaudit: the chunk is refused (FLB_ERROR)
	// rather than retried forever. Per-event panics never get this far: the
	// pipeline drops that one event and carries on.
	defer guard("flush", &rc, output.FLB_ERROR)
	in, ok := output.FLBPluginGetContext(ctx).(*instance.Instance)
	if !ok {
		pipeline.Logf(pipeline.LogError, "flush", "unknown plugin context")
		return output.FLB_ERROR
	}
	// The chunk is Fluent Bit's memory, valid during this call only;
	// decoding copies whatever it keeps.
	chunk := unsafe.Slice((*byte)(data), int(length))
	switch in.Flush(chunk, C.GoString(tag)) {
	case instance.OK:
		return output.FLB_OK
	case instance.Retry:
		return output.FLB_RETRY
	}
	return output.FLB_ERROR
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) (rc int) {
	defer guard("exit", &rc, output.FLB_ERROR)
	if in, ok := output.FLBPluginGetContext(ctx).(*instance.Instance); ok {
		in.Close()
		stopProfile(in.Name)
	}
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int { return output.FLB_OK }

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	var rc int
	defer guard("unregister", &rc, 0)
	_ = profile.Flush()
	output.FLBPluginUnregister(def)
}

// guard turns a panic into a log line and the given return code.
func guard(where string, rc *int, code int) {
	if r := recover(); r != nil {
		pipeline.Logf(pipeline.LogError, where, "panic (a kaudit bug, please report): %v\n%s", r, debug.Stack())
		*rc = code
	}
}

type getter struct{ plugin unsafe.Pointer }

func (g getter) Get(key string) string { return output.FLBPluginConfigKey(g.plugin, key) }
