package demo

import (
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

// RegisterSagas adds the jobs of the demo saga (order-import, notification
// and customer-purge; customer-import comes from Register) and returns its
// definition, for saga.New.
func RegisterSagas(reg *jobs.Registry) ([]*saga.Definition, error) {
	if err := samplejobs.RegisterSagaSteps(reg); err != nil {
		return nil, err
	}
	return []*saga.Definition{samplejobs.Onboarding()}, nil
}
