package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const dockerfile = "../../conf/image/Dockerfile"

type instruction struct {
	Cmd, Args string
	Stage     string // the stage it belongs to ("" before the first FROM)
}

// parseDockerfile splits a Dockerfile into instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	stage, cur := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(line)
		if cur == "" && (trim == "" || strings.HasPrefix(trim, "#")) {
			continue
		}
		if strings.HasSuffix(trim, "\\") {
			cur += strings.TrimSuffix(trim, "\\") + " "
			continue
		}
		cur += trim
		cmd, args, _ := strings.Cut(cur, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			f := strings.Fields(args)
			stage = ""
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stage = f[2]
			}
		}
		out = append(out, instruction{cmd, strings.TrimSpace(args), stage})
		cur = ""
	}
	return out
}

var argRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// globalArgs are the ARG defaults before the first FROM.
func globalArgs(ins []instruction) map[string]string {
	args := map[string]string{}
	for _, in := range ins {
		if in.Cmd == "FROM" {
			break
		}
		if in.Cmd == "ARG" {
			k, v, _ := strings.Cut(in.Args, "=")
			args[k] = v
		}
	}
	return args
}

func stageOf(ins []instruction, stage, cmd string) []instruction {
	var out []instruction
	for _, in := range ins {
		if in.Stage == stage && in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// The image compiles the plugin with exactly the Makefile's command: make
// itself prints its recipe for the same output path and version.
func TestImageBuildCommandIsTheMakefiles(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	ins := parseDockerfile(t)
	var run string
	for _, in := range stageOf(ins, "build", "RUN") {
		if strings.Contains(in.Args, "go build") {
			if run != "" {
				t.Fatal("two go build commands in the build stage")
			}
			run = in.Args
		}
	}
	if run == "" {
		t.Fatal("no go build in the Dockerfile's build stage")
	}
	const version = "v9.9.9-test"
	got := strings.ReplaceAll(run, "${VERSION}", version)
	cmd := exec.Command("make", "-s", "-n", "-C", "../..", "/out/out_kaudit.so", "BUILD=/out", "GO=go", "VERSION="+version)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n: %v", err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("the Dockerfile and the Makefile build differently:\nDockerfile: %s\nMakefile:   %s", got, strings.TrimSpace(string(want)))
	}
	if !strings.Contains(got, "-buildmode=c-shared") {
		t.Errorf("not a c-shared build: %s", got)
	}
	// The version the image stamps is a build argument make image sets.
	mk, _ := os.ReadFile("../../Makefile")
	if !strings.Contains(string(mk), "--build-arg VERSION=$(VERSION)") {
		t.Error("make image does not pass VERSION to the Dockerfile")
	}
}

func TestImageBasesArePinned(t *testing.T) {
	ins := parseDockerfile(t)
	args := globalArgs(ins)
	stages := map[string]bool{}
	for _, in := range ins {
		if in.Cmd != "FROM" {
			continue
		}
		f := strings.Fields(in.Args)
		ref := argRef.ReplaceAllStringFunc(f[0], func(r string) string {
			name := argRef.FindStringSubmatch(r)[1]
			v, ok := args[name]
			if !ok {
				t.Errorf("FROM %s: ARG %s has no default", f[0], name)
			}
			return v
		})
		if in.Stage != "" {
			stages[in.Stage] = true
		}
		if stages[ref] {
			continue
		}
		_, tag, ok := strings.Cut(path.Base(ref), ":")
		if !ok || tag == "latest" || !regexp.MustCompile(`\d+\.\d+`).MatchString(tag) {
			t.Errorf("FROM %s (%s): pin a version tag", f[0], ref)
		}
	}
	for _, want := range []string{"build", "plugin", "fluent-bit"} {
		if !stages[want] {
			t.Errorf("no stage %q (make image builds --target plugin and --target fluent-bit)", want)
		}
	}
	// One Fluent Bit version across the Dockerfile, the Makefile and the
	// Helm values.
	fb := args["FLUENT_BIT_VERSION"]
	mk, _ := os.ReadFile("../../Makefile")
	if !strings.Contains(string(mk), "FLUENT_BIT_VERSION ?= "+fb+"\n") {
		t.Errorf("Makefile FLUENT_BIT_VERSION differs from the Dockerfile's %s", fb)
	}
	vals := loadValues(t)
	if tag := vals["image"].(map[string]any)["tag"]; tag != fb {
		t.Errorf("helm values image.tag %v, Dockerfile FLUENT_BIT_VERSION %s", tag, fb)
	}
}

// The images run as non-root, the plugin image copies what it contains, and
// the full image starts Fluent Bit with the plugin and a shipped config.
func TestImageStages(t *testing.T) {
	ins := parseDockerfile(t)
	for _, stage := range []string{"plugin", "fluent-bit"} {
		users := stageOf(ins, stage, "USER")
		if len(users) == 0 {
			t.Errorf("stage %s: no USER, runs as root", stage)
			continue
		}
		if u := strings.Split(users[len(users)-1].Args, ":")[0]; u == "0" || u == "root" {
			t.Errorf("stage %s: USER %s", stage, u)
		}
	}

	soIn := func(stage string) string {
		for _, c := range stageOf(ins, stage, "COPY") {
			f := strings.Fields(c.Args)
			if strings.HasSuffix(f[len(f)-1], "out_kaudit.so") && strings.Contains(c.Args, "--from=build") {
				return f[len(f)-1]
			}
		}
		t.Fatalf("stage %s copies no out_kaudit.so from build", stage)
		return ""
	}
	execForm := func(stage, cmd string) []string {
		is := stageOf(ins, stage, cmd)
		if len(is) == 0 {
			t.Fatalf("stage %s: no %s", stage, cmd)
		}
		var v []string
		if err := json.Unmarshal([]byte(is[len(is)-1].Args), &v); err != nil {
			t.Fatalf("stage %s: %s not in exec form: %v", stage, cmd, err)
		}
		return v
	}

	if ep := execForm("plugin", "ENTRYPOINT"); len(ep) != 2 || ep[0] != "cp" || ep[1] != soIn("plugin") {
		t.Errorf("plugin image entrypoint %v, want cp %s", ep, soIn("plugin"))
	}

	so := soIn("fluent-bit")
	if ep := execForm("fluent-bit", "ENTRYPOINT"); len(ep) != 1 || ep[0] != "/fluent-bit/bin/fluent-bit" {
		t.Errorf("fluent-bit image entrypoint %v", ep)
	}
	cmd := execForm("fluent-bit", "CMD")
	if len(cmd) != 4 || cmd[0] != "-e" || cmd[1] != so || cmd[2] != "-c" {
		t.Fatalf("fluent-bit image CMD %v, want -e %s -c CONFIG", cmd, so)
	}
	// The config named in CMD is a file of conf/fluent-bit copied in.
	var confDest string
	for _, c := range stageOf(ins, "fluent-bit", "COPY") {
		if f := strings.Fields(c.Args); len(f) == 2 && f[0] == "conf/fluent-bit/" {
			confDest = f[1]
		}
	}
	if confDest == "" {
		t.Fatal("fluent-bit stage does not COPY conf/fluent-bit/")
	}
	rel, ok := strings.CutPrefix(cmd[3], confDest)
	if !ok {
		t.Fatalf("CMD config %s is not under %s", cmd[3], confDest)
	}
	if _, err := os.Stat(filepath.Join(fbDir, rel)); err != nil {
		t.Errorf("CMD config: %v", err)
	}
}

// imageCmd is the full image's CMD, which the DaemonSet repeats.
func imageCmd(t *testing.T) []string {
	t.Helper()
	is := stageOf(parseDockerfile(t), "fluent-bit", "CMD")
	if len(is) == 0 {
		t.Fatal("fluent-bit stage has no CMD")
	}
	var v []string
	if err := json.Unmarshal([]byte(is[len(is)-1].Args), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// make image refuses clearly where no Docker engine answers.
func TestMakeImageWithoutDocker(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	out, err := exec.Command("make", "-s", "-C", "../..", "image", "DOCKER=false").CombinedOutput()
	if err == nil {
		t.Fatal("make image succeeded without a Docker engine")
	}
	if !strings.Contains(string(out), "no Docker engine responds") {
		t.Errorf("make image output does not say why: %s", out)
	}
}
