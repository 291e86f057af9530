//go:build flb_v3_0

package main

// Fluent Bit 3.0 and 3.1: struct flb_filter_plugin has no cb_notification.

// #cgo CFLAGS: -DKAUDIT_FLB_LAYOUT=300
import "C"
