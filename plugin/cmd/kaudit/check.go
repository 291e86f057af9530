package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kaudit/kaudit/plugin/config"
	"github.com/kaudit/kaudit/plugin/output/instance"
	"github.com/kaudit/kaudit/plugin/pipeline"
)

// check builds every configured output exactly as Fluent Bit's init would
// (without opening the metrics listener or creating any file), every kaudit filter and processor
// as the filter's init would, refuses keys neither Fluent Bit nor that
// kaudit plugin takes, and compiles the rule and redaction files: a pass
// here means the plugins start with the same input.
func check(args []string, stdout io.Writer) error {
	f := newFlags("check")
	var rules, redacts list
	f.fs.Var(&rules, "rules", "rules file to validate on top of the embedded defaults (repeatable)")
	f.fs.Var(&redacts, "redact", "redaction rules file to validate on top of the embedded defaults, as redact_file would load it (repeatable)")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("check: unexpected argument %q: %w", f.fs.Arg(0), errUsage)
	}
	secs := []section{{kind: config.Output, what: "output", props: config.MapGetter{}}}
	if f.config != "" {
		var err error
		if secs, err = readSections(f.config); err != nil {
			return err
		}
		if len(secs) == 0 {
			return fmt.Errorf("%s: no output, filter or processor with name kaudit", f.config)
		}
	}
	var problems []string
	outputs, filters := 0, 0
	for _, s := range secs {
		g := config.MapGetter{}
		for k, v := range s.props {
			g[k] = v
		}
		if f.config != "" {
			msgs, bad := unknownKeys(s)
			problems = append(problems, msgs...)
			for _, k := range bad { // reported once, with its line
				delete(g, k)
			}
		}
		where := ""
		if f.config != "" {
			where = s.at("name") + ": " + s.what + " kaudit: "
		}
		if s.kind == config.Output {
			outputs++
			for k, v := range f.props {
				g[k] = v
			}
			in, err := instance.NewWith(g, Version, instance.Options{Quiet: true, NoServe: true, Validate: true})
			if err != nil {
				problems = append(problems, where+oneLine(err))
				continue
			}
			in.Close()
			continue
		}
		filters++
		c, err := config.ParseScope(g, config.Filter)
		if err == nil {
			_, err = pipeline.Build(c)
		}
		if err != nil {
			problems = append(problems, where+oneLine(err))
		}
	}
	for _, r := range rules {
		if _, err := pipeline.LoadRules([]string{r}); err != nil {
			problems = append(problems, oneLine(err)) // names the file
		}
	}
	for _, r := range redacts {
		if _, err := pipeline.NewRedactor(&config.Config{RedactFile: r, RedactManagedFields: true}); err != nil {
			problems = append(problems, oneLine(err)) // names the key, the file and the rule key
		}
	}
	if len(problems) > 0 {
		return problemList(problems)
	}
	fmt.Fprintf(stdout, "kaudit check: ok (%d output(s), %d filter(s) or processor(s), %d rule file(s), %d redaction file(s))\n", outputs, filters, len(rules), len(redacts))
	return nil
}

// problemList is every problem check found, printed one per line.
type problemList []string

func (p problemList) Error() string { return strings.Join(p, "\n") }
