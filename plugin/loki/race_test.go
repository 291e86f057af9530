//go:build race

package loki

const raceEnabled = true
