package config

// Console is the web console (docs/console.md).
type Console struct {
	// Enabled serves the console at /ui and keeps the execution index
	// that its pages and the listing routes ({http.base-path}/jobs and
	// …/executions) read. Default true.
	Enabled bool `yaml:"enabled"` // default true
}

// DefaultConsole is the console's default: on.
func DefaultConsole() Console { return Console{Enabled: true} }
