package pipeline

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Level of a log line, spelled as Fluent Bit spells its own.
type Level int

// Levels, as Fluent Bit prints them.
const (
	LogError Level = iota
	LogWarn
	LogInfo
	LogDebug
)

var levelNames = [...]string{"error", " warn", " info", "debug"}

var logMu sync.Mutex

// Logf writes one line in Fluent Bit's format to stderr, where Fluent Bit
// writes its own. Callers never pass record content: it may hold secrets.
func Logf(lvl Level, who, format string, args ...any) {
	LogfAs("output", lvl, who, format, args...)
}

// LogfAs is Logf for another plugin type (Fluent Bit prints "filter:" for a
// filter's lines).
func LogfAs(kind string, lvl Level, who, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ts := time.Now().Format("2006/01/02 15:04:05")
	logMu.Lock()
	fmt.Fprintf(os.Stderr, "[%s] [%s] [%s:kaudit:%s] %s\n", ts, levelNames[lvl], kind, who, msg)
	logMu.Unlock()
}
