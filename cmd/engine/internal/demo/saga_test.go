package demo_test

import (
	"context"
	"reflect"
	"testing"

	"go.uber.org/goleak"

	"github.com/jetjobs/jetjobs/cmd/engine/internal/demo"
	"github.com/jetjobs/jetjobs/internal/samplejobs"
	"github.com/jetjobs/jetjobs/jetjobstest"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/saga"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo saga of `make run`, with the demo jobs, as the engine binary
// wires it: customer import → order import → notification, and the same
// with a failing order import, which compensates the customer import. The
// YAML example's DAG saga runs too.
func TestDemoSaga(t *testing.T) {
	t.Parallel()
	var defs []*saga.Definition
	h := jetjobstest.New(t, func(r *jobs.Registry) {
		if err := demo.Register(r); err != nil {
			t.Fatal(err)
		}
		d, err := demo.RegisterSagas(r)
		if err != nil {
			t.Fatal(err)
		}
		defs = d
	})
	yaml, err := saga.LoadDefinitionsFile("../../../../deploy/sagas.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defs = append(defs, yaml[1])
	eng := h.Engine
	c, err := saga.New(eng.JetStream(), eng.Client(), saga.Config{Prefix: eng.Config().NATS.SubjectPrefix,
		Registry: eng.Registry(), Logger: eng.Logger()}, defs...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jetjobstest.DefaultTimeout)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	input := func(fail bool) map[string]any {
		return map[string]any{"datasetId": "dataset-123", "records": 30, "batchSize": 10, "batchDelay": "20ms",
			"orderDuration": "100ms", "failOrders": fail}
	}
	for _, id := range []string{"ok", "fail"} {
		if _, _, err := c.StartSaga(ctx, samplejobs.OnboardingSaga, saga.StartRequest{SagaID: id, Input: input(id == "fail")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.StartSaga(ctx, "regional-reports", saga.StartRequest{SagaID: "r1", Input: map[string]any{"datasetId": "d1"}}); err != nil {
		t.Fatal(err)
	}
	cl := saga.NewClient(eng.JetStream(), saga.ClientOptions{Prefix: eng.Config().NATS.SubjectPrefix})
	end := func(s, id string) *saga.Instance {
		in, err := cl.Wait(ctx, s, id, nil)
		if err != nil {
			t.Fatalf("%s/%s: %v", s, id, err)
		}
		return in
	}
	in := end(samplejobs.OnboardingSaga, "ok")
	if in.Status != saga.StatusCompleted || in.Steps[2].Run.Result["message"] != "Imported 30 customers and 90 orders of dataset-123" {
		t.Fatalf("demo saga: %+v", in.Steps[2].Run)
	}
	in = end(samplejobs.OnboardingSaga, "fail")
	if in.Status != saga.StatusCompensated || in.Failed != "orders" || in.Steps[0].Comp.Status != saga.RunCompleted ||
		in.Steps[0].Comp.Result["importExecutionId"] != "fail-customers" {
		t.Fatalf("failing demo saga: %s %+v", in.Status, in.Steps[0].Comp)
	}
	if in = end("regional-reports", "r1"); in.Status != saga.StatusCompleted ||
		in.Steps[3].Run.Result["message"] != "north valid=true, south valid=true" {
		t.Fatalf("regional reports: %s %+v", in.Status, in.Steps[3].Run)
	}
	// The compensating job's record carries the saga id.
	exec, _, err := eng.State().Get(ctx, "customer-purge", "fail-customers-c")
	if err != nil || exec.SagaID != "fail" {
		t.Fatalf("compensation record: %+v %v", exec, err)
	}
}

// The YAML example's customer-onboarding is the demo's saga: the other
// packages' tests run that file's saga in place of the demo's (which Go's
// internal rule hides from them), so the two must not drift apart.
func TestOnboardingMatchesExampleYAML(t *testing.T) {
	t.Parallel()
	defs, err := saga.LoadDefinitionsFile("../../../../deploy/sagas.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inGo := samplejobs.Onboarding()
	if err := inGo.Validate(); err != nil { // fills the defaults, as loading did
		t.Fatal(err)
	}
	if !reflect.DeepEqual(defs[0], inGo) {
		t.Fatalf("deploy/sagas.example.yaml's %s differs from samplejobs.Onboarding():\nyaml %+v\ngo   %+v", defs[0].Name, *defs[0], *inGo)
	}
}
