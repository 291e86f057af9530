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
// (without opening the metrics listener) and compiles the rule and redaction
// files, so a pass here means the plugin starts with the same input.
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
	gs, err := f.getters()
	if err != nil {
		return err
	}
	var problems []string
	for i, g := range gs {
		in, err := instance.NewWith(g, Version, instance.Options{Quiet: true, NoServe: true})
		if err != nil {
			msg := oneLine(err)
			if f.config != "" {
				msg = fmt.Sprintf("%s output %d: %s", f.config, i, msg)
			}
			problems = append(problems, msg)
			continue
		}
		in.Close()
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
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	fmt.Fprintf(stdout, "kaudit check: ok (%d output(s), %d rule file(s), %d redaction file(s))\n", len(gs), len(rules), len(redacts))
	return nil
}
