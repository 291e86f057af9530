// Command filter is flb-filter_kaudit.so, kaudit as a Fluent Bit filter,
// loaded by Fluent Bit's C plugin loader (`fluent-bit -e
// flb-filter_kaudit.so`): Fluent Bit's Go proxy has no filter type. shim.c
// defines the registration structure for the target Fluent Bit (chosen at
// build time, see layout_*.go) and calls the exports below. Glue only: the
// work is in plugin/filter/instance, the same pipeline the output runs.
package main

//go:generate go run ./genkeys

/*
#cgo CFLAGS: -I${SRCDIR}/../flbabi
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/kaudit/kaudit/plugin/filter/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/plugin/profile"
)

// Version is set at build time (-ldflags -X main.Version=...).
var Version = "dev"

func main() {}

// C cannot hold Go pointers across calls, so it holds an id into this table.
var (
	mu     sync.RWMutex
	nextID int64
	insts  = map[int64]*instance.Instance{}
)

const (
	modified = C.int(C.KAUDIT_FLB_FILTER_MODIFIED)
	notouch  = C.int(C.KAUDIT_FLB_FILTER_NOTOUCH)
)

//export kauditFilterHostMissing
func kauditFilterHostMissing() {
	defer guard("init", func() {})
	instance.Logf(pipeline.LogError, "init", "this host does not export flb_filter_get_property/flb_filter_set_context: load flb-filter_kaudit.so into Fluent Bit with -e or [PLUGINS]")
}

// kauditFilterInit returns the new instance's id, or 0 when the
// configuration is invalid (after one log line naming the key).
//
//export kauditFilterInit
func kauditFilterInit(fIns unsafe.Pointer, logLevel C.int) (id C.longlong) {
	defer guard("init", func() { id = 0 })
	in, err := instance.NewWith(getter{fIns}, Version, int(logLevel))
	if err != nil {
		instance.Logf(pipeline.LogError, "init", "%v", err)
		return 0
	}
	if err := profile.Start(); err != nil {
		in.Logf(pipeline.LogWarn, "cpu profile not taken: %v", err)
	}
	mu.Lock()
	nextID++
	insts[nextID] = in
	id = C.longlong(nextID)
	mu.Unlock()
	return id
}

// kauditFilterChunk filters one chunk into a malloc'ed buffer that Fluent
// Bit frees. Whatever goes wrong, the answer is MODIFIED with what was
// processed, possibly nothing: NOTOUCH would pass the input on unredacted.
// NOTOUCH is answered only when instance.Filter says the records it wrote
// are the input byte for byte, every one of them an event the pipeline
// reported unchanged: then Fluent Bit keeps its own copy of exactly that.
//
//export kauditFilterChunk
func kauditFilterChunk(id C.longlong, data unsafe.Pointer, size C.size_t, tag *C.char, tagLen C.int, outBuf *unsafe.Pointer, outBytes *C.size_t) (rc C.int) {
	*outBuf, *outBytes = nil, 0
	defer guard("filter", func() {
		if *outBuf != nil {
			C.free(*outBuf)
		}
		*outBuf, *outBytes, rc = nil, 0, modified
	})
	if size == 0 {
		return notouch
	}
	mu.RLock()
	in := insts[int64(id)]
	mu.RUnlock()
	if in == nil {
		instance.Logf(pipeline.LogError, "filter", "unknown instance %d: chunk dropped", id)
		return modified
	}
	// Fluent Bit's memory, valid during this call only; decoding copies.
	chunk := unsafe.Slice((*byte)(data), int(size))
	same := in.Filter(chunk, C.GoStringN(tag, tagLen), func(out []byte) {
		if len(out) == 0 {
			return
		}
		p := C.malloc(C.size_t(len(out)))
		if p == nil {
			in.Logf(pipeline.LogError, "out of memory: chunk of %d bytes dropped", len(out))
			return
		}
		copy(unsafe.Slice((*byte)(p), len(out)), out)
		*outBuf, *outBytes = p, C.size_t(len(out))
	})
	if same {
		return notouch
	}
	return modified
}

//export kauditFilterExit
func kauditFilterExit(id C.longlong) {
	defer guard("exit", func() {})
	mu.Lock()
	in := insts[int64(id)]
	delete(insts, int64(id))
	mu.Unlock()
	if in != nil {
		in.Close()
		_ = profile.Stop()
	}
}

// guard turns a panic into a log line and lets fail set the return values.
func guard(where string, fail func()) {
	if r := recover(); r != nil {
		instance.Logf(pipeline.LogError, where, "panic (a kaudit bug, please report): %v\n%s", r, debug.Stack())
		fail()
	}
}

type getter struct{ fIns unsafe.Pointer }

func (g getter) Get(key string) string {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	v := C.kaudit_get_property(g.fIns, k)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
