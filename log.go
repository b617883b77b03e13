package jetjobs

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// NewLogger builds the engine's zerolog logger: JSON lines (or a console
// format for people), UTC timestamps, at the given level.
func NewLogger(level, format string, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
