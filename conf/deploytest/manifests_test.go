package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const k8sDir = "../../conf/kubernetes"

// splitDocs splits a multi-document YAML stream at "---" lines.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// manifests holds every object of conf/kubernetes, decoded strictly into
// its k8s.io/api type: an unknown or misspelt field fails.
type manifests struct {
	DaemonSets      []appsv1.DaemonSet
	ConfigMaps      []corev1.ConfigMap
	ServiceAccounts []corev1.ServiceAccount
	Pods            []corev1.Pod
	Files           map[string]string // object "Kind/name" -> file
}

func decodeStrict(doc []byte, m *manifests, file string) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	var name string
	var err error
	switch head.APIVersion + "/" + head.Kind {
	case "apps/v1/DaemonSet":
		var o appsv1.DaemonSet
		err = strictYAML(doc, &o)
		name = o.Name
		m.DaemonSets = append(m.DaemonSets, o)
	case "v1/ConfigMap":
		var o corev1.ConfigMap
		err = strictYAML(doc, &o)
		name = o.Name
		m.ConfigMaps = append(m.ConfigMaps, o)
	case "v1/ServiceAccount":
		var o corev1.ServiceAccount
		err = strictYAML(doc, &o)
		name = o.Name
		m.ServiceAccounts = append(m.ServiceAccounts, o)
	case "v1/Pod":
		var o corev1.Pod
		err = strictYAML(doc, &o)
		name = o.Name
		m.Pods = append(m.Pods, o)
	default:
		return fmt.Errorf("%s %s: no type to check it against", head.APIVersion, head.Kind)
	}
	if err != nil {
		return err
	}
	m.Files[head.Kind+"/"+name] = file
	return nil
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{Files: map[string]string{}}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(b) {
			if err := decodeStrict(doc, m, f); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
		}
	}
	if len(m.DaemonSets) != 1 || len(m.ConfigMaps) != 1 || len(m.ServiceAccounts) != 1 {
		t.Fatalf("want one DaemonSet, ConfigMap and ServiceAccount, have %d, %d, %d", len(m.DaemonSets), len(m.ConfigMaps), len(m.ServiceAccounts))
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	loadManifests(t)
	// Proof the decode is strict: one misspelt field fails.
	b, _ := os.ReadFile(filepath.Join(k8sDir, "daemonset.yaml"))
	bad := bytes.Replace(b, []byte("readOnly: true"), []byte("readonly: true"), 1)
	if err := decodeStrict(bad, &manifests{Files: map[string]string{}}, "bad"); err == nil {
		t.Fatal("a DaemonSet with a misspelt field decoded without error")
	}
}

// kubectl apply -k conf/kubernetes applies exactly the manifests of the folder.
func TestKustomization(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := strictYAML(b, &k); err != nil {
		t.Fatal(err)
	}
	m := loadManifests(t)
	want := map[string]bool{}
	for obj, f := range m.Files {
		if !strings.HasPrefix(obj, "Pod/") { // the kube-apiserver snippet is not applied
			want[filepath.Base(f)] = true
		}
	}
	got := map[string]bool{}
	for _, r := range k.Resources {
		got[r] = true
	}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(want)) {
		t.Errorf("kustomization resources %v, manifests %v", sortedKeys(got), sortedKeys(want))
	}
	// Where kubectl is installed, render it and decode the result strictly.
	if _, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.Command("kubectl", "kustomize", k8sDir).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize: %v", err)
		}
		r := &manifests{Files: map[string]string{}}
		for _, doc := range splitDocs(out) {
			if err := decodeStrict(doc, r, "kustomize"); err != nil {
				t.Errorf("kubectl kustomize output: %v", err)
			}
		}
		if len(r.DaemonSets) != 1 || r.ConfigMaps[0].Data["tail.conf"] != m.ConfigMaps[0].Data["tail.conf"] {
			t.Error("kubectl kustomize output differs from the manifests")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// The ConfigMap carries conf/fluent-bit's files byte for byte.
func TestConfigMapIsConfFluentBit(t *testing.T) {
	syncEmbedded(t, filepath.Join(k8sDir, "configmap.yaml"))
	m := loadManifests(t)
	checkSameFiles(t, "ConfigMap "+m.ConfigMaps[0].Name, m.ConfigMaps[0].Data)
}

func checkSameFiles(t *testing.T, where string, data map[string]string) {
	t.Helper()
	if len(data) == 0 {
		t.Fatalf("%s: no files", where)
	}
	for name, content := range data {
		want, err := os.ReadFile(filepath.Join(fbDir, name))
		if err != nil {
			t.Errorf("%s: %s is not a file of conf/fluent-bit", where, name)
			continue
		}
		if content != string(want) {
			t.Errorf("%s: %s differs from conf/fluent-bit/%s; go test ./conf/deploytest -update copies it in", where, name, name)
		}
	}
}

func TestDaemonSet(t *testing.T) {
	m := loadManifests(t)
	ds := m.DaemonSets[0]
	spec := ds.Spec.Template.Spec
	if ds.Spec.Selector == nil || !subset(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		t.Error("selector does not select the pod template's labels")
	}
	if spec.ServiceAccountName != m.ServiceAccounts[0].Name || ds.Namespace != m.ServiceAccounts[0].Namespace || ds.Namespace != m.ConfigMaps[0].Namespace {
		t.Error("DaemonSet, ServiceAccount and ConfigMap are not one set (name, namespace)")
	}
	files := map[string]string{}
	c := container(t, spec, "fluent-bit")
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		if v.ConfigMap.Name != m.ConfigMaps[0].Name {
			t.Errorf("volume %s: ConfigMap %s is not shipped", v.Name, v.ConfigMap.Name)
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name {
				for k, s := range m.ConfigMaps[0].Data {
					files[path.Join(vm.MountPath, k)] = s
				}
			}
		}
	}
	// The DaemonSet runs what the image runs by default.
	if fmt.Sprint(c.Args) != fmt.Sprint(imageCmd(t)) || len(c.Command) != 0 {
		t.Errorf("args %v (command %v), the image's CMD is %v", c.Args, c.Command, imageCmd(t))
	}
	checkShipper(t, spec, c, files, "")
}

// Helm: the official chart's values, each known to the chart and each pod
// field decoded strictly into its k8s.io/api type; then the pod the chart
// renders from them passes the same checks as the DaemonSet.
func TestHelmValues(t *testing.T) {
	syncEmbedded(t, filepath.Join(k8sDir, "helm", "values.yaml"))
	vals := loadValues(t)
	chart := loadChartDefaults(t)
	for k := range vals {
		if _, ok := chart[k]; !ok {
			t.Errorf("values.yaml: %q is not a value of the chart", k)
		}
	}
	for _, k := range []string{"image", "serviceAccount", "rbac", "testFramework", "config"} {
		sub, _ := vals[k].(map[string]any)
		def, _ := chart[k].(map[string]any)
		for kk := range sub {
			if _, ok := def[kk]; !ok {
				t.Errorf("values.yaml: %s.%s is not a value of the chart", k, kk)
			}
		}
	}
	if vals["kind"] != "DaemonSet" {
		t.Errorf("kind %v, want DaemonSet", vals["kind"])
	}
	as := func(key string, dst any) {
		b, err := yaml.Marshal(vals[key])
		if err != nil {
			t.Fatal(err)
		}
		if err := strictYAML(b, dst); err != nil {
			t.Errorf("values.yaml %s: %v", key, err)
		}
	}
	var spec corev1.PodSpec
	c := corev1.Container{Name: "fluent-bit", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 2020}}}
	var dsVols, extraVols []corev1.Volume
	var dsMounts, extraMounts []corev1.VolumeMount
	as("initContainers", &spec.InitContainers)
	as("nodeSelector", &spec.NodeSelector)
	as("affinity", &spec.Affinity)
	as("tolerations", &spec.Tolerations)
	as("command", &c.Command)
	as("args", &c.Args)
	as("env", &c.Env)
	as("securityContext", &c.SecurityContext)
	as("livenessProbe", &c.LivenessProbe)
	as("readinessProbe", &c.ReadinessProbe)
	as("resources", &c.Resources)
	as("daemonSetVolumes", &dsVols)
	as("daemonSetVolumeMounts", &dsMounts)
	as("extraVolumes", &extraVols)
	as("extraVolumeMounts", &extraMounts)
	if metricsPort, ok := vals["metricsPort"]; ok {
		t.Errorf("metricsPort %v: keep the chart's 2020, which the configuration listens on", metricsPort)
	}
	// As templates/_pod.tpl renders them: the chart's config volume first.
	spec.Volumes = append([]corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}, append(dsVols, extraVols...)...)
	c.VolumeMounts = append([]corev1.VolumeMount{{Name: "config", MountPath: "/fluent-bit/etc/conf"}}, append(dsMounts, extraMounts...)...)
	spec.Containers = []corev1.Container{c}

	cfg := vals["config"].(map[string]any)
	extra := map[string]string{}
	for k, v := range cfg["extraFiles"].(map[string]any) {
		extra[k] = v.(string)
		if strings.Contains(extra[k], "{{") {
			t.Errorf("config.extraFiles.%s contains {{: the chart runs it through tpl", k)
		}
	}
	checkSameFiles(t, "values.yaml config.extraFiles", extra)
	for _, k := range []string{"service", "inputs", "filters", "outputs", "customParsers"} {
		if cfg[k] != "" {
			t.Errorf("config.%s is set, but the pod runs the extraFiles configuration", k)
		}
	}
	files := map[string]string{}
	for k, v := range extra {
		files["/fluent-bit/etc/conf/"+k] = v
	}
	checkShipper(t, spec, c, files, "kaudit-plugin")
}

func loadValues(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k8sDir, "helm", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := strictYAML(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func loadChartDefaults(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fluent-bit-chart-0.58.1-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) > 0
}

// argFlag finds -x VALUE or --long=VALUE in args.
func argFlag(args []string, short, long string) string {
	for i, a := range args {
		if a == short && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, long+"="); ok {
			return v
		}
	}
	return ""
}

// mountFor finds the volume mounted at the deepest mount point holding p.
func mountFor(c corev1.Container, p string) (corev1.VolumeMount, bool) {
	var best corev1.VolumeMount
	found := false
	for _, vm := range c.VolumeMounts {
		if (p == vm.MountPath || strings.HasPrefix(p, strings.TrimSuffix(vm.MountPath, "/")+"/")) && len(vm.MountPath) >= len(best.MountPath) {
			best, found = vm, true
		}
	}
	return best, found
}

func volume(spec corev1.PodSpec, name string) (corev1.Volume, bool) {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return corev1.Volume{}, false
}

var secretEnv = regexp.MustCompile(`PASSWORD|PASSWD|TOKEN|SECRET|CONNECTION_STRING|KEY`)

// checkShipper checks the pod of an audit-log shipper, whatever produced
// it: files maps in-container paths to the configuration files mounted;
// initName, if set, is the init container that must provide the plugin.
func checkShipper(t *testing.T, spec corev1.PodSpec, c corev1.Container, files map[string]string, initName string) {
	t.Helper()
	// Control-plane nodes only, tolerated there.
	cp := "node-role.kubernetes.io/control-plane"
	onlyCP := false
	if _, ok := spec.NodeSelector[cp]; ok {
		onlyCP = true
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		onlyCP = len(terms) > 0
		for _, term := range terms {
			has := false
			for _, e := range term.MatchExpressions {
				has = has || (e.Key == cp && e.Operator == corev1.NodeSelectorOpExists)
			}
			onlyCP = onlyCP && has
		}
	}
	if !onlyCP {
		t.Error("not restricted to control-plane nodes")
	}
	tolerated := false
	for _, tol := range spec.Tolerations {
		tolerated = tolerated || (tol.Key == cp && tol.Effect == corev1.TaintEffectNoSchedule && tol.Operator == corev1.TolerationOpExists)
	}
	if !tolerated {
		t.Error("no toleration of the control-plane NoSchedule taint")
	}
	for _, vm := range append(append([]corev1.VolumeMount{}, c.VolumeMounts...), initMounts(spec)...) {
		if _, ok := volume(spec, vm.Name); !ok {
			t.Errorf("mount %s: no volume %s", vm.MountPath, vm.Name)
		}
	}

	// The configuration the container starts with, and what it needs.
	cfgPath := argFlag(c.Args, "-c", "--config")
	text, ok := files[cfgPath]
	if !ok {
		t.Fatalf("config %q (from args %v) is not a mounted file (%v)", cfgPath, c.Args, sortedKeys(files))
	}
	dir := t.TempDir()
	for p, s := range files {
		if path.Dir(p) == path.Dir(cfgPath) {
			os.WriteFile(filepath.Join(dir, path.Base(p)), []byte(s), 0o644)
		}
	}
	cfg := loadConfig(t, filepath.Join(dir, path.Base(cfgPath)))
	loadParsers(t, cfg) // every parsers_file must be mounted beside it

	// Inputs' files: the audit log read-only; state (DB, storage.path) on a
	// hostPath so it survives the pod.
	hostPathMount := func(p, what string, wantRO bool) {
		vm, ok := mountFor(c, p)
		if !ok {
			t.Errorf("%s %s: not on any volume", what, p)
			return
		}
		v, _ := volume(spec, vm.Name)
		if v.HostPath == nil {
			t.Errorf("%s %s: volume %s is not a hostPath, so it does not survive the pod", what, p, vm.Name)
		}
		if wantRO && !vm.ReadOnly {
			t.Errorf("%s %s: mount %s is writable", what, p, vm.MountPath)
		}
		if !wantRO && vm.ReadOnly {
			t.Errorf("%s %s: mount %s is read-only", what, p, vm.MountPath)
		}
	}
	hostPathMount(cfg.Service["storage.path"], "storage.path", false)
	for _, in := range cfg.kind("input") {
		if in.name() != "tail" {
			continue
		}
		hostPathMount(in.Props["path"], "tail Path", true)
		hostPathMount(in.Props["db"], "tail DB", false)
	}

	// Probes on Fluent Bit's health endpoint, on the configured port.
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		if p.HTTPGet.Path != "/api/v1/health" {
			t.Errorf("%s probe on %s, want /api/v1/health", name, p.HTTPGet.Path)
		}
		port := p.HTTPGet.Port.IntValue()
		for _, cp := range c.Ports {
			if cp.Name == p.HTTPGet.Port.String() {
				port = int(cp.ContainerPort)
			}
		}
		if fmt.Sprint(port) != cfg.Service["http_port"] {
			t.Errorf("%s probe on port %d, Fluent Bit's HTTP_Port is %s", name, port, cfg.Service["http_port"])
		}
	}

	// Requests and limits.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request", r)
		}
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
		t.Error("no memory limit")
	}

	// Environment: every ${VAR} of the configuration is set; credentials
	// only from Secrets.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
		if secretEnv.MatchString(e.Name) && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("env %s: credentials come from a Secret (valueFrom.secretKeyRef), never inline", e.Name)
		}
	}
	for _, m := range envRef.FindAllStringSubmatch(text, -1) {
		if _, ok := env[m[1]]; !ok {
			t.Errorf("the configuration uses ${%s}, the container does not set it", m[1])
		}
	}
	if e, ok := env["LOKI_PASSWORD"]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Error("LOKI_PASSWORD is not read from a Secret")
	}

	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil || fmt.Sprint(sc.Capabilities.Drop) != "[ALL]" || len(sc.Capabilities.Add) > 0 || (sc.Privileged != nil && *sc.Privileged) {
		t.Error("securityContext: want no privilege escalation, a read-only root filesystem and every capability dropped")
	}

	// The plugin: in the image, or copied by the init container into a
	// volume the container mounts where -e points.
	so := argFlag(c.Args, "-e", "--plugin")
	if so == "" {
		t.Fatalf("args %v load no plugin (-e)", c.Args)
	}
	if initName == "" {
		return
	}
	var ic *corev1.Container
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == initName {
			ic = &spec.InitContainers[i]
		}
	}
	if ic == nil {
		t.Fatalf("no init container %s", initName)
	}
	vm, ok := mountFor(c, so)
	if !ok || !vm.ReadOnly {
		t.Fatalf("plugin %s: not on a read-only mount of the Fluent Bit container", so)
	}
	if v, _ := volume(spec, vm.Name); v.EmptyDir == nil {
		t.Errorf("plugin volume %s is not an emptyDir", vm.Name)
	}
	dest := strings.Join(ic.Args, " ")
	ivm, ok := mountFor(*ic, dest)
	if len(ic.Args) != 1 || !ok || ivm.Name != vm.Name || path.Join(dest, "out_kaudit.so") != so {
		t.Errorf("init container copies to %v, Fluent Bit loads %s from volume %s", ic.Args, so, vm.Name)
	}
	if ic.SecurityContext == nil || ic.SecurityContext.RunAsNonRoot == nil || !*ic.SecurityContext.RunAsNonRoot {
		t.Error("init container may run as root")
	}
}

func initMounts(spec corev1.PodSpec) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, c := range spec.InitContainers {
		out = append(out, c.VolumeMounts...)
	}
	return out
}

// The kube-apiserver snippet mounts the policy at the path its flag names
// and writes the log where the DaemonSet reads it.
func TestKubeAPIServerSnippet(t *testing.T) {
	m := loadManifests(t)
	if len(m.Pods) != 1 {
		t.Fatalf("%d Pods, want the kube-apiserver snippet", len(m.Pods))
	}
	pod := m.Pods[0]
	c := container(t, pod.Spec, "kube-apiserver")
	flags := map[string]string{}
	for _, a := range c.Command[1:] {
		k, v, _ := strings.Cut(a, "=")
		flags[k] = v
	}
	if _, ok := mountFor(c, flags["--audit-policy-file"]); !ok {
		t.Error("--audit-policy-file is not mounted")
	}
	if flags["--audit-log-format"] != "json" {
		t.Error("--audit-log-format must be json for the kube-audit parser")
	}
	logPath := flags["--audit-log-path"]
	if on, _ := boolValue(flags["--audit-log-compress"]); on {
		// A gzipped backup is a new file, so the DB's offset in the renamed
		// one is lost with it.
		t.Error("--audit-log-compress: a rotation while the shipper is down would lose the unread rest of the log")
	}
	for _, name := range []string{"tail.conf", "tail.yaml", "beside.conf", "beside.yaml"} {
		for _, err := range checkAuditTail(loadConfig(t, filepath.Join(fbDir, name)), logPath) {
			t.Errorf("%s: %v", name, err)
		}
	}
	vm, ok := mountFor(c, logPath)
	v, _ := volume(pod.Spec, vm.Name)
	if !ok || vm.ReadOnly || v.HostPath == nil {
		t.Error("the audit log is not written to a writable hostPath")
	}
	dsv, _ := volume(m.DaemonSets[0].Spec.Template.Spec, "audit-log")
	if dsv.HostPath == nil || v.HostPath == nil || dsv.HostPath.Path != v.HostPath.Path {
		t.Error("the DaemonSet reads another host directory than the API server writes")
	}
}

// checkAuditTail checks the tail input of c that reads the audit log the API
// server writes at logPath.
func checkAuditTail(c *fbConfig, logPath string) []error {
	var errs []error
	n := 0
	for _, in := range c.kind("input") {
		if in.name() != "tail" || in.Props["tag"] != "kube-audit" {
			continue
		}
		n++
		fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(in.Where+": "+format, args...)) }
		// A rotation while Fluent Bit is down is finished only if Path
		// still matches the renamed file.
		for _, f := range []string{logPath, backupName(logPath, time.Date(2026, 11, 29, 8, 51, 36, 123e6, time.UTC))} {
			if ok, err := path.Match(in.Props["path"], f); !ok || err != nil {
				fail("Path %s does not match %s", in.Props["path"], f)
			}
		}
		if in.Props["db"] == "" {
			fail("no DB: a restart re-reads every file or skips what was written meanwhile")
		}
		if on, _ := boolValue(in.Props["read_from_head"]); !on {
			fail("Read_from_Head off: a file the DB does not know (the one the API server opened while Fluent Bit was down) is read from its end")
		}
		older, wait := flbSeconds(in.Props["ignore_older"]), flbSeconds(in.Props["rotate_wait"])
		if older <= 0 {
			fail("no Ignore_Older: a first start reads every backup the API server keeps")
		}
		if wait <= older {
			fail("Rotate_Wait %ds not above Ignore_Older %ds: a backup Fluent Bit has finished is found again by its next scan and read twice", wait, older)
		}
	}
	if n == 0 {
		errs = append(errs, fmt.Errorf("no tail input tagged kube-audit"))
	}
	return errs
}

// backupName is the name the API server's rotation (lumberjack) gives the
// log file when it renames it at t.
func backupName(logPath string, t time.Time) string {
	ext := path.Ext(logPath)
	return strings.TrimSuffix(logPath, ext) + "-" + t.UTC().Format("2006-01-02T15-04-05.000") + ext
}

// flbSeconds reads a time option as Fluent Bit does
// (flb_utils_time_to_seconds): a number, optionally followed by d, h or m.
func flbSeconds(v string) int {
	if v == "" {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimRight(v, "dDhHmMsS"))
	switch v[len(v)-1] {
	case 'd', 'D':
		n *= 86400
	case 'h', 'H':
		n *= 3600
	case 'm', 'M':
		n *= 60
	}
	return n
}

// Each way the audit log's tail can drift fails checkAuditTail.
func TestAuditTailCheckFails(t *testing.T) {
	const logPath = "/var/log/kubernetes/audit/audit.log"
	for name, change := range map[string]map[string]string{
		"live file only":         {"path": logPath},
		"no DB":                  {"db": ""},
		"from the end":           {"read_from_head": "off"},
		"no Ignore_Older":        {"ignore_older": ""},
		"Rotate_Wait not above":  {"rotate_wait": "60m"},
		"backups of another log": {"path": "/var/log/kubernetes/audit/kube-audit*.log"},
	} {
		c := loadConfig(t, filepath.Join(fbDir, "tail.conf"))
		for _, in := range c.kind("input") {
			for k, v := range change {
				in.Props[k] = v
			}
		}
		if errs := checkAuditTail(c, logPath); len(errs) == 0 {
			t.Errorf("%s: passes", name)
		}
	}
}
