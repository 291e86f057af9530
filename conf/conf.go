// Package conf embeds kaudit's shipped defaults so the plugin works with no
// files on disk; users extend or override them with files of the same format.
package conf

import "embed"

// Rules holds the default detection rules (conf/rules/*.yaml).
//
//go:embed rules/*.yaml
var Rules embed.FS

// Redact holds the default extra redaction rules (conf/redact/default.yaml).
//
//go:embed redact/default.yaml
var Redact []byte

// RedactName is the name Redact is reported under in errors.
const RedactName = "conf/redact/default.yaml"

// RedactKubernetes is where Kubernetes puts secrets
// (conf/redact/kubernetes.yaml): secret-bearing kinds, annotations that hold
// objects or credentials, credential names. Always in force.
//
//go:embed redact/kubernetes.yaml
var RedactKubernetes []byte

// RedactPatterns are the content scanner's credential formats
// (conf/redact/patterns.yaml). Always in force.
//
//go:embed redact/patterns.yaml
var RedactPatterns []byte
