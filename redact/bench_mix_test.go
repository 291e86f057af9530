package redact

import (
	"testing"

	"github.com/kaudit/kaudit/testdata"
)

// routineMix is the realistic traffic the benchmarks replay: the benign
// corpus (controllers, kubelets, GitOps, Helm, cert-manager, admins) and the
// public corpora, none of it secret-bearing.
func routineMix(b *testing.B) []map[string]any {
	return testdata.Events(b, "benign/events.jsonl", "corpora/*.jsonl")
}

// BenchmarkRedactRoutineMix is the cost per event of the routine mix, each
// event redacted once as it arrives (copies prepared with the timer
// stopped).
func BenchmarkRedactRoutineMix(b *testing.B) {
	r := defaultRedactor(b, Config{})
	mix := routineMix(b)
	evs := make([]map[string]any, len(mix))
	b.ReportAllocs()
	b.ResetTimer()
	i := len(mix)
	for b.Loop() {
		if i == len(mix) {
			b.StopTimer()
			for j := range mix {
				evs[j] = copyEvent(mix[j])
			}
			i = 0
			b.StartTimer()
		}
		r.Redact(evs[i])
		i++
	}
}

// BenchmarkScannerRoutineStrings is the content scanner alone over every
// string of the routine mix, one string per op: the figure to set beside
// a library's per-string cost.
func BenchmarkScannerRoutineStrings(b *testing.B) {
	r := defaultRedactor(b, Config{})
	var ss []string
	for _, ev := range routineMix(b) {
		collectStrings(ev, false, &ss)
	}
	w := walker{r: r}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		w.sweepString(ss[i%len(ss)], "", sctx{})
		i++
	}
}

// routineStrings is every string of the routine mix, keys included.
func routineStrings(b *testing.B) []string {
	var ss []string
	for _, ev := range routineMix(b) {
		collectStrings(ev, true, &ss)
	}
	return ss
}

// collectStrings appends every string value of v to out, and with keys
// every map key too.
func collectStrings(v any, keys bool, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case map[string]any:
		for k, e := range x {
			if keys {
				*out = append(*out, k)
			}
			collectStrings(e, keys, out)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, keys, out)
		}
	}
}

// BenchmarkScannerSurvey is the keyword prefilter alone (survey, as the
// sweep calls it) over every string of the routine mix, one string per op.
func BenchmarkScannerSurvey(b *testing.B) {
	sc := defaultRedactor(b, Config{}).rules.scanner
	ss := routineStrings(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		sc.survey(ss[i%len(ss)], true)
		i++
	}
}

// BenchmarkScannerMayHold is mayHold over the same strings.
func BenchmarkScannerMayHold(b *testing.B) {
	sc := defaultRedactor(b, Config{}).rules.scanner
	ss := routineStrings(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		sc.mayHold(ss[i%len(ss)])
		i++
	}
}
