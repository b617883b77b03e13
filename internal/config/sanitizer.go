package config

import "github.com/jetjobs/jetjobs/jobs"

// Sanitizer is the secret masking orchestration.persistence configures
// (sanitize-sensitive-data, excluded-parameter-keys); nil when it is off.
// It is the one place those keys become a jobs.Sanitizer: the engine
// (jetjobs.Engine.Sanitizer, for every place a value can land,
// docs/operations.md "Security") and Masked (the schedules' parameters that
// `engine config` prints) both call it.
func (p Persistence) Sanitizer() *jobs.Sanitizer {
	if !p.SanitizeSensitiveData {
		return nil
	}
	return jobs.NewSanitizer(p.ExcludedParameterKeys...)
}
