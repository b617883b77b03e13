// Package demo is the demo that `make run` registers: jetjobs' sample jobs
// and saga (internal/samplejobs: an async customer import, a sync customer
// validation, and the customer-onboarding saga with its steps) and a worker
// report build.
package demo

import (
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jobs"
)

// Register adds the demo jobs to reg: the sample import and validation, and
// the report build.
func Register(reg *jobs.Registry) error {
	if err := samplejobs.Register(reg); err != nil {
		return err
	}
	return reg.Register("report-build", ReportBuild{},
		jobs.WithDescription("Builds a report inside the engine, progress 0..100 over about 2s (demo, worker)"))
}
