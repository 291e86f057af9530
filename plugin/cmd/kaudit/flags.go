package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kaudit/kaudit/plugin/config"
)

// props collects repeated -o key=value flags.
type props map[string]string

func (p props) String() string { return "" }

func (p props) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	p[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
	return nil
}

// list collects a repeated flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// common are the flags every command takes to configure an instance.
type common struct {
	fs     *flag.FlagSet
	props  props
	config string
	output int
}

func newFlags(name string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError), props: props{}}
	c.fs.SetOutput(io.Discard)
	c.fs.Var(c.props, "o", "plugin key=value (repeatable; overrides --config)")
	c.fs.StringVar(&c.config, "config", "", "Fluent Bit configuration (classic or YAML) whose kaudit [OUTPUT] to use")
	c.fs.IntVar(&c.output, "output", 0, "which kaudit output of --config (0 = the first)")
	return c
}

func (c *common) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %v: %w", c.fs.Name(), err, errUsage)
	}
	return nil
}

// getters returns the configuration of every kaudit output of --config
// with -o applied on top, or just -o without --config.
func (c *common) getters() ([]config.MapGetter, error) {
	if c.config == "" {
		return []config.MapGetter{config.MapGetter(c.props)}, nil
	}
	outs, err := readConfig(c.config)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		for k, v := range c.props {
			o[k] = v
		}
	}
	return outs, nil
}

// getter returns the one output the command runs.
func (c *common) getter() (config.MapGetter, error) {
	gs, err := c.getters()
	if err != nil {
		return nil, err
	}
	if c.output < 0 || c.output >= len(gs) {
		return nil, fmt.Errorf("--output %d: %s has %d kaudit outputs", c.output, c.config, len(gs))
	}
	return gs[c.output], nil
}

// readConfig returns the properties of every output named kaudit in a
// Fluent Bit configuration file, classic or YAML, with ${VAR} expanded from
// the environment (and classic @SET) as Fluent Bit does.
func readConfig(path string) ([]config.MapGetter, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var outs []config.MapGetter
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		outs, err = yamlOutputs(b)
	default:
		outs, err = classicOutputs(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("%s: no output with name kaudit", path)
	}
	return outs, nil
}

func classicOutputs(b []byte) ([]config.MapGetter, error) {
	vars := map[string]string{}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			return os.Getenv(k)
		})
	}
	var outs []config.MapGetter
	var cur config.MapGetter
	inOutput := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "@SET "):
			if k, v, ok := strings.Cut(strings.TrimSpace(line[5:]), "="); ok {
				vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			continue
		case strings.HasPrefix(line, "@"):
			continue // @INCLUDE: only this file's outputs are read
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: %q is not a [SECTION]", n, line)
			}
			cur = config.MapGetter{}
			inOutput = strings.EqualFold(strings.TrimSpace(line[1:len(line)-1]), "OUTPUT")
			if inOutput {
				outs = append(outs, cur)
			}
			continue
		}
		if !inOutput {
			continue
		}
		k, v, _ := strings.Cut(strings.Join(strings.Fields(line), " "), " ")
		cur[strings.ToLower(k)] = expand(v)
	}
	return onlyKaudit(outs), sc.Err()
}

func yamlOutputs(b []byte) ([]config.MapGetter, error) {
	var doc struct {
		Pipeline struct {
			Outputs []map[string]any `json:"outputs"`
		} `json:"pipeline"`
	}
	if err := yaml.Unmarshal([]byte(os.ExpandEnv(string(b))), &doc); err != nil {
		return nil, err
	}
	var outs []config.MapGetter
	for _, o := range doc.Pipeline.Outputs {
		m := config.MapGetter{}
		for k, v := range o {
			m[strings.ToLower(k)] = scalar(v)
		}
		outs = append(outs, m)
	}
	return onlyKaudit(outs), nil
}

func onlyKaudit(outs []config.MapGetter) []config.MapGetter {
	var keep []config.MapGetter
	for _, o := range outs {
		if strings.EqualFold(o["name"], "kaudit") {
			keep = append(keep, o)
		}
	}
	return keep
}

// scalar renders a YAML value as Fluent Bit reads it: 1048576, not 1.048576e+06.
func scalar(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
