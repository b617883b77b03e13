package jobs

import (
	"context"
	"runtime/debug"
)

// Invocation is one call of a stage method, as middleware sees it.
type Invocation struct {
	Job       *Definition
	Stage     Stage
	Request   *Request
	Execution *Execution // the record before the call; nil at START and EXECUTE
}

// Handler runs a stage.
type Handler func(ctx context.Context, inv *Invocation) (*Response, error)

// Middleware wraps a Handler with one concern (tracing, retry, breaker…).
type Middleware func(next Handler) Handler

// Chain wraps h so that the first middleware listed is the outermost: it sees
// the call first and the result last.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// callStage is the innermost handler: the author's stage method, with panics
// recovered into a permanent *PanicError.
func callStage(ctx context.Context, inv *Invocation) (resp *Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, Permanent(&PanicError{Value: p, Stack: debug.Stack()})
		}
	}()
	req := inv.Request
	if inv.Job.Worker != nil {
		return workerStageAnswer(inv)
	}
	switch inv.Stage {
	case StageStart:
		resp, err = inv.Job.Async.Start(ctx, req)
	case StageCheck:
		resp, err = inv.Job.Async.Check(ctx, req)
	case StageCollect:
		resp, err = inv.Job.Async.Collect(ctx, req)
	case StageResult:
		resp, err = inv.Job.Async.Result(ctx, req)
	case StageStop:
		resp, err = inv.Job.Async.Stop(ctx, req)
	case StageExecute:
		resp, err = inv.Job.Sync.Execute(ctx, req)
	default:
		return nil, Permanent(Errorf(CodeInvalidArgument, "stage %q", inv.Stage))
	}
	if err == nil && resp == nil {
		err = Permanent(Errorf(CodeInternal, "%s.%s returned neither a response nor an error", inv.Job.Name, inv.Stage))
	}
	return resp, err
}
