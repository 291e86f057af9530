// Package detect labels Kubernetes audit events with the detection rules
// they match.
//
// Rules are data: YAML sources (README.md documents the format) that New
// merges and compiles once into matchers over a single field table
// (fields.go). Engine.Detect then evaluates an event, decoded as the shared
// value model (map[string]any with json.Number numbers), without
// allocating when nothing matches. detect does not import conf: callers
// choose where rules come from and hand them over with FromFS.
package detect
