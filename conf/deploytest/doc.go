// Package deploytest holds the tests of what kaudit ships for deployment
// (conf/image, conf/kubernetes, conf/fluent-bit, conf/audit-policy.yaml):
// every file a platform engineer applies is decoded strictly and checked
// against the others, so the image, the manifests and the Fluent Bit
// configurations cannot drift apart.
package deploytest
