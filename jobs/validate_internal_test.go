package jobs

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The hand-written checks accept exactly what the documented patterns do.
func TestValidatorsMatchPatterns(t *testing.T) {
	t.Parallel()
	jobName := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	execID := regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	const chars = "aZz09-_.é >*\x00A"
	var cases []string
	for _, a := range chars { // every one- and two-rune string over chars
		cases = append(cases, string(a))
		for _, b := range chars {
			cases = append(cases, string(a)+string(b))
		}
	}
	for _, n := range []int{63, 64, 65, 127, 128, 129} {
		cases = append(cases, strings.Repeat("a", n), "-"+strings.Repeat("a", n-1), strings.Repeat("a", n-1)+"_")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]rune, 1+r.IntN(140))
		for i := range b {
			b[i] = []rune(chars)[r.IntN(len([]rune(chars)))]
		}
		cases = append(cases, string(b))
	}
	cases = append(cases, "")
	for _, s := range cases {
		if got, want := validJobName(s), jobName.MatchString(s); got != want {
			t.Errorf("validJobName(%q) = %v, pattern says %v", s, got, want)
		}
		if got, want := validExecutionID(s), execID.MatchString(s); got != want {
			t.Errorf("validExecutionID(%q) = %v, pattern says %v", s, got, want)
		}
	}
}
