package decode

import "time"

// EventTime returns when the event happened: stageTimestamp (when the stage
// was reached, which is what the record reports), else
// requestReceivedTimestamp, else timestamp (AKS and pre-v1 events), else
// fallback. A field that is absent, not a string or not a time is skipped.
func EventTime(ev map[string]any, fallback time.Time) time.Time {
	for _, k := range [...]string{"stageTimestamp", "requestReceivedTimestamp", "timestamp"} {
		if s, ok := ev[k].(string); ok {
			if t, ok := ParseTime(s); ok {
				return t
			}
		}
	}
	return fallback
}

// ParseTime parses an audit timestamp, in UTC. The apiserver always writes
// "2006-01-02T15:04:05.999999Z", which is parsed by hand (time.Parse costs
// several times more); other RFC 3339 forms go through time.Parse. A space
// instead of the T and a missing zone (taken as UTC) are accepted because
// exported events (Panther, some SIEMs) are rewritten that way.
func ParseTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return parseSlow(s)
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return parseSlow(s)
	}
	i, nsec := 19, 0
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
			i++
		}
		n := i - start
		if n == 0 {
			return parseSlow(s)
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	switch {
	case i == len(s):
	case i == len(s)-1 && (s[i] == 'Z' || s[i] == 'z'):
	default:
		return parseSlow(s) // numeric zone offset
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // time.Date normalises 31 April to 1 May
		return time.Time{}, false
	}
	return t, true
}

func parseSlow(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func digits(s string, at, n int) (int, bool) {
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
