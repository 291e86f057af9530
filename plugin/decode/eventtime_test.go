package decode

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-05-14T09:12:44.108233Z", time.Date(2024, 5, 14, 9, 12, 44, 108233000, time.UTC), true},
		{"2024-05-14T09:12:44Z", time.Date(2024, 5, 14, 9, 12, 44, 0, time.UTC), true},
		{"2024-05-14T09:12:44.1Z", time.Date(2024, 5, 14, 9, 12, 44, 100000000, time.UTC), true},
		{"2024-05-14T09:12:44.123456789Z", time.Date(2024, 5, 14, 9, 12, 44, 123456789, time.UTC), true},
		{"2024-05-14T09:12:44.1234567891Z", time.Date(2024, 5, 14, 9, 12, 44, 123456789, time.UTC), true},
		{"2024-05-14t09:12:44z", time.Date(2024, 5, 14, 9, 12, 44, 0, time.UTC), true},
		{"2024-05-14T11:12:44.5+02:00", time.Date(2024, 5, 14, 9, 12, 44, 500000000, time.UTC), true},
		{"2024-05-14T09:12:44-00:30", time.Date(2024, 5, 14, 9, 42, 44, 0, time.UTC), true},
		{"2022-11-29 00:09:04.38", time.Date(2022, 11, 29, 0, 9, 4, 380000000, time.UTC), true},
		{"2022-11-29 00:09:04", time.Date(2022, 11, 29, 0, 9, 4, 0, time.UTC), true},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"2023-02-29T00:00:00Z", time.Time{}, false},
		{"2024-04-31T00:00:00Z", time.Time{}, false},
		{"2024-13-01T00:00:00Z", time.Time{}, false},
		{"2024-05-14T24:00:00Z", time.Time{}, false},
		{"2024-05-14T09:60:00Z", time.Time{}, false},
		{"2024-05-14T09:12:44.Z", time.Time{}, false},
		{"2024-05-14T09:12:44ZZ", time.Time{}, false},
		{"2024-05-14T09:1a:44Z", time.Time{}, false},
		{"2024-05-14", time.Time{}, false},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := ParseTime(c.in)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
		if ok && got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) not UTC", c.in)
		}
	}
}

func TestEventTime(t *testing.T) {
	fallback := time.Unix(42, 0)
	stage := "2024-05-14T09:12:44.108233Z"
	recv := "2024-05-14T09:12:44.101512Z"
	old := "2019-03-02T11:22:33Z"
	parse := func(s string) time.Time { v, _ := ParseTime(s); return v }
	cases := []struct {
		ev   map[string]any
		want time.Time
	}{
		{map[string]any{"stageTimestamp": stage, "requestReceivedTimestamp": recv, "timestamp": old}, parse(stage)},
		{map[string]any{"requestReceivedTimestamp": recv, "timestamp": old}, parse(recv)},
		{map[string]any{"stageTimestamp": "garbage", "requestReceivedTimestamp": recv}, parse(recv)},
		{map[string]any{"stageTimestamp": 17, "timestamp": old}, parse(old)},
		{map[string]any{"timestamp": old}, parse(old)},
		{map[string]any{"timestamp": nil}, fallback},
		{map[string]any{}, fallback},
		{nil, fallback},
	}
	for i, c := range cases {
		if got := EventTime(c.ev, fallback); !got.Equal(c.want) {
			t.Errorf("case %d: %v want %v", i, got, c.want)
		}
	}
}

func BenchmarkParseTime(b *testing.B) {
	for _, s := range []string{"2024-05-14T09:12:44.108233Z", "2024-05-14T11:12:44.5+02:00"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, ok := ParseTime(s); !ok {
					b.Fatal(s)
				}
			}
		})
	}
}
