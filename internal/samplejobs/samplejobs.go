// Package samplejobs holds jetjobs' sample jobs and their saga, written
// once: the demo program of `make run` (cmd/engine/internal/demo) registers
// them beside its worker job, and the tests of the root, httpadapter and
// console packages run them against a real engine (Go's internal rule keeps
// those tests from the demo program itself). It imports jobs and saga only.
package samplejobs

import "github.com/jetjobs/jetjobs/jobs"

// The sample jobs' names: the tests' subjects and routes (and the console's
// screenshots) read like `make run`.
const (
	ImportJob       = "customer-import"     // async, on the clock (Import)
	ValidationJob   = "customer-validation" // sync, typed parameters (Validation)
	OrderImportJob  = "order-import"        // async saga step (OrderImport)
	NotificationJob = "notification"        // sync saga step (Notification)
	PurgeJob        = "customer-purge"      // sync compensation (Purge)
)

// Register adds the async import and the sync validation to reg.
func Register(reg *jobs.Registry) error {
	if err := reg.Register(ImportJob, NewImport(),
		jobs.WithDescription("Imports the customers of a dataset in the background (demo, async)")); err != nil {
		return err
	}
	return reg.Register(ValidationJob, Validation, jobs.WithDescription("Validates one customer id (demo, sync)"))
}

// RegisterSagaSteps adds the other jobs of the customer-onboarding saga of
// deploy/sagas.example.yaml (the import comes from Register): the order
// import, the notification and the purge that compensates the import.
func RegisterSagaSteps(reg *jobs.Registry) error {
	for _, j := range []struct {
		name, desc string
		job        any
	}{
		{OrderImportJob, "Imports the orders of a dataset's customers (demo, async; parameter fail=true makes it fail)", OrderImport{}},
		{NotificationJob, "Sends a notification (demo, sync)", Notification{}},
		{PurgeJob, "Removes the customers an import added: the compensation of customer-import (demo, sync)", Purge{}},
	} {
		if err := reg.Register(j.name, j.job, jobs.WithDescription(j.desc)); err != nil {
			return err
		}
	}
	return nil
}
