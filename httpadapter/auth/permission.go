package auth

import (
	"fmt"
	"regexp"
	"strings"
)

// Verb is what a permission allows.
type Verb string

// The verbs.
const (
	Run   Verb = "run"   // start, execute, stop; saga start
	Read  Verb = "read"  // check, collect, result, audit, events; saga get
	Admin Verb = "admin" // saga cancel and resume; dead letters
)

// AllJobs is the job of a permission that covers every job and saga.
const AllJobs = "*"

// Permission is verb:job.
type Permission struct {
	Verb Verb
	Job  string // a job type or saga name, or AllJobs
}

func (p Permission) String() string { return string(p.Verb) + ":" + p.Job }

var jobRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ParsePermission reads "verb:job".
func ParsePermission(s string) (Permission, error) {
	verb, job, ok := strings.Cut(strings.TrimSpace(s), ":")
	p := Permission{Verb: Verb(verb), Job: job}
	switch {
	case !ok:
		return p, fmt.Errorf("permission %q: want verb:job", s)
	case p.Verb != Run && p.Verb != Read && p.Verb != Admin:
		return p, fmt.Errorf("permission %q: verb must be run, read or admin", s)
	case job != AllJobs && !jobRE.MatchString(job):
		return p, fmt.Errorf("permission %q: job must be a name or *", s)
	}
	return p, nil
}

// Permissions is what a caller may do.
type Permissions []Permission

// ParsePermissions reads a list of "verb:job".
func ParsePermissions(list []string) (Permissions, error) {
	out := make(Permissions, 0, len(list))
	for _, s := range list {
		p, err := ParsePermission(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// All is every permission: run:*, read:*, admin:*.
func All() Permissions {
	return Permissions{{Run, AllJobs}, {Read, AllJobs}, {Admin, AllJobs}}
}

// Allows reports whether verb on job is permitted.
func (ps Permissions) Allows(verb Verb, job string) bool {
	for _, p := range ps {
		if p.Verb == verb && (p.Job == AllJobs || p.Job == job) {
			return true
		}
	}
	return false
}
