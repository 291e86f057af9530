// Package conf embeds kaudit's shipped defaults so the plugin works with no
// files on disk; users extend or override them with files of the same format.
package conf

import "embed"

// Rules holds the default detection rules (conf/rules/*.yaml).
//
//go:embed rules/*.yaml
var Rules embed.FS
