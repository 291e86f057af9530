package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

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
// Fluent Bit configuration file, classic or YAML (@INCLUDE and includes:
// followed), with ${VAR} expanded from the environment and classic @SET /
// YAML env: as Fluent Bit does.
func readConfig(path string) ([]config.MapGetter, error) {
	secs, err := readSections(path)
	if err != nil {
		return nil, err
	}
	var outs []config.MapGetter
	for _, s := range secs {
		if s.kind == config.Output {
			outs = append(outs, s.props)
		}
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("%s: no output with name kaudit", path)
	}
	return outs, nil
}
