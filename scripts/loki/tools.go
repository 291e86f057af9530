//go:build tools

// Package tools pins Loki's command so `go mod tidy` keeps its requirements.
package tools

import _ "github.com/grafana/loki/v3/cmd/loki"
