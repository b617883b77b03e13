package airflow_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jetjobs/jetjobs/internal/config"
	"github.com/jetjobs/jetjobs/jobs"
	"github.com/jetjobs/jetjobs/orchestrators/airflow/airflowtest"
)

func TestHTTPStatusClasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{500, false}, {502, false}, {503, false}, {429, false}, {408, false}, {400, true}, {403, true}, {422, true}} {
		srv := airflowtest.NewServer(t)
		o := newOrch(t, srv, nil)
		srv.FailNext(tc.status)
		_, err := o.StartJob(context.Background(), def("cls"))
		if err == nil || jobs.IsPermanent(err) != tc.permanent || errors.Is(err, jobs.ErrNotFound) ||
			!strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tc.status)) || !strings.Contains(err.Error(), "injected failure") {
			t.Errorf("HTTP %d: %v (permanent %v)", tc.status, err, jobs.IsPermanent(err))
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, func(c *config.Airflow) { c.RequestTimeout = 100 * time.Millisecond })
	release := srv.Hold()
	defer release()
	began := time.Now()
	_, err := o.StartJob(context.Background(), def("slow"))
	if err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, func(c *config.Airflow) { c.ConnectionTimeout = 200 * time.Millisecond })
	srv.Close()
	_, err := o.CheckJobStatus(context.Background(), "data_job_import/x")
	if err == nil || jobs.IsPermanent(err) || errors.Is(err, jobs.ErrNotFound) || strings.Contains(err.Error(), "http://") {
		t.Fatalf("err = %v", err)
	}
}

func TestMaxConcurrentDagRuns(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t)
	o := newOrch(t, srv, func(c *config.Airflow) { c.MaxConcurrentDagRuns = 1 })
	release := srv.Hold()
	done := make(chan error, 1)
	go func() { _, err := o.StartJob(context.Background(), def("one")); done <- err }()
	for len(srv.Calls()) == 0 { // the first call holds the only permit
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := o.StartJob(ctx, def("two"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "max-concurrent-dag-runs (1)") {
		t.Fatalf("second start: %v", err)
	}
	if n := len(srv.Calls()); n != 1 {
		t.Fatalf("%d calls reached the server, want 1", n)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := o.StartJob(context.Background(), def("two")); err != nil {
		t.Fatal(err)
	}
}

func TestVerifySSL(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t, airflowtest.WithTLS())
	strict := newOrch(t, srv, nil)
	_, err := strict.StartJob(context.Background(), def("tls"))
	if err == nil || !jobs.IsPermanent(err) || !strings.Contains(err.Error(), "verify-ssl") {
		t.Fatalf("verify-ssl true: %v", err)
	}
	lax := newOrch(t, srv, func(c *config.Airflow) { c.VerifySSL = false })
	if _, err := lax.StartJob(context.Background(), def("tls")); err != nil {
		t.Fatalf("verify-ssl false: %v", err)
	}
}

func TestAPIVersion(t *testing.T) {
	t.Parallel()
	srv := airflowtest.NewServer(t, airflowtest.WithAPIVersion("v2"))
	o := newOrch(t, srv, func(c *config.Airflow) { c.APIVersion = "v2" })
	if _, err := o.StartJob(context.Background(), def("v2")); err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls(); c[0] != "POST /api/v2/dags/data_job_import/dagRuns" {
		t.Fatalf("calls %v", c)
	}
}
