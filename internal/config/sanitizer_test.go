package config

import "testing"

// Persistence.Sanitizer is the one place the persistence keys become a
// jobs.Sanitizer (the engine and Masked both use it).
func TestPersistenceSanitizer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		edit      func(*Persistence)
		nilWant   bool            // sanitize-sensitive-data off: no sanitizer
		sensitive map[string]bool // key -> masked
	}{
		{"defaults", func(*Persistence) {}, false, map[string]bool{"password": true, "X-Api-Key": true, "region": false}},
		{"own keys", func(p *Persistence) { p.ExcludedParameterKeys = []string{"pin", "ssn"} }, false,
			map[string]bool{"pin": true, "customerSsn": true, "password": false}},
		{"off", func(p *Persistence) { p.SanitizeSensitiveData = false }, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Default().Orchestration.Persistence
			tt.edit(&p)
			san := p.Sanitizer()
			if (san == nil) != tt.nilWant {
				t.Fatalf("Sanitizer() = %v, want nil: %v", san, tt.nilWant)
			}
			for key, want := range tt.sensitive {
				if got := san.Sensitive(key); got != want {
					t.Errorf("Sensitive(%q) = %v, want %v", key, got, want)
				}
			}
		})
	}
}
