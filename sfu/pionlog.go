package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's logs to slog, so they share the node's level and format. pion reports
// ordinary shutdown races (a write on a closed pipe) as errors, so its errors are our warnings, its
// warnings and info our debug, and its debug and trace are dropped.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) emit(level slog.Level, msg string) { l.log.Log(context.Background(), level, msg) }

// emitf formats only when the level is enabled: pion logs chatty things.
func (l pionLogger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(string)                 {}
func (l pionLogger) Debugf(string, ...any)        {}
func (l pionLogger) Info(msg string)              { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.emitf(slog.LevelDebug, f, args...) }
func (l pionLogger) Warn(msg string)              { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.emitf(slog.LevelDebug, f, args...) }
func (l pionLogger) Error(msg string)             { l.emit(errorLevel(msg), msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.emitf(errorLevel(f), f, args...) }

// errorLevel demotes pion's reports of a failed close (a peer that already hung up, a socket closed
// twice at shutdown): nothing an operator can act on.
func errorLevel(msg string) slog.Level {
	if strings.HasPrefix(msg, "Failed to close") {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// NewPionLoggerFactory is the same mapping for other pion components of the node (the TURN relay).
func NewPionLoggerFactory(log *slog.Logger) logging.LoggerFactory { return pionLoggerFactory{log: log} }
