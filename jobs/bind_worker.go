package jobs

import "context"

// ParamsChecker is what a job with typed parameters offers besides their
// schema: a check of a request's parameters without running the job. The
// engine calls it at START of a worker job, whose own code runs only later
// on the work queue, so bad parameters are refused at once (422) instead
// of failing the queued work.
type ParamsChecker interface {
	CheckParams(req *Request) error
}

// CheckParams decodes the request's parameters into an A and drops it.
func (p Params[A]) CheckParams(req *Request) error {
	_, err := p.Args(req)
	return err
}

// WorkerOf makes a worker job of a function taking typed parameters: they
// are checked at START (a refusal answers 422 naming the parameter and no
// work is queued) and decoded into an A before fn runs. The job's parameter
// schema is derived from A.
func WorkerOf[A any](fn func(ctx context.Context, req *Request, args A, p Progress) (*Response, error)) WorkerJob {
	return typedWorker[A]{fn: fn}
}

type typedWorker[A any] struct {
	Params[A]
	fn func(context.Context, *Request, A, Progress) (*Response, error)
}

var _ interface {
	WorkerJob
	Typed
	ParamsChecker
} = typedWorker[struct{}]{}

func (j typedWorker[A]) Work(ctx context.Context, req *Request, p Progress) (*Response, error) {
	args, err := j.Args(req)
	if err != nil {
		return nil, Permanent(err) // the same parameters will not decode better next time
	}
	return j.fn(ctx, req, args, p)
}
