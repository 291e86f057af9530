//go:build !flb_v3_0

package main

// Fluent Bit 3.2 through 5.x (the default): struct flb_filter_plugin gained
// cb_notification before _head in 3.2.0.

// #cgo CFLAGS: -DKAUDIT_FLB_LAYOUT=302
import "C"
