package main

import (
	"github.com/kaudit/kaudit/plugin/metrics"
	"github.com/kaudit/kaudit/plugin/output/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
	"github.com/kaudit/kaudit/plugin/profile"
)

// startProfile runs at each instance's init: the process-wide CPU profile
// of $KAUDIT_CPUPROFILE (first instance), and the instance's `pprof`
// endpoints. Profiling is a diagnosis aid, so a failure is logged and the
// plugin runs on.
func startProfile(in *instance.Instance) {
	if err := profile.Start(); err != nil {
		pipeline.Logf(pipeline.LogWarn, in.Name, "cpu profile not taken: %v", err)
	} else if profile.Active() {
		pipeline.Logf(pipeline.LogInfo, in.Name, "cpu profile running, written at exit to $%s", profile.Env)
	}
	if in.Config.Pprof {
		if err := metrics.EnablePprof(in.Config.MetricsListen); err != nil {
			pipeline.Logf(pipeline.LogWarn, in.Name, "%v", err)
		}
	}
}

// stopProfile runs at each instance's exit; the last one writes the
// profile.
func stopProfile(name string) {
	if err := profile.Stop(); err != nil {
		pipeline.Logf(pipeline.LogWarn, name, "cpu profile: %v", err)
	}
}
