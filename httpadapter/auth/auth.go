package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors of Authenticate.
var (
	// ErrNoCredentials: the request carries no credentials of the method's
	// kind; another method may still accept it.
	ErrNoCredentials = errors.New("no credentials")
	// ErrInvalidCredentials: the request carries credentials of the method's
	// kind and they are wrong, expired or unknown.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrForbidden: the caller is known but lacks a permission.
	ErrForbidden = errors.New("forbidden")
)

// Caller is who sent a request.
type Caller struct {
	// Name identifies the caller in logs and as the initiator of what it
	// starts: an API key's name, a token's name claim, a certificate's CN.
	Name        string
	Permissions Permissions
	// Anonymous is true when authentication is off: the caller is not known,
	// may do everything, and its requests keep the initiator they name.
	Anonymous bool
}

// AnonymousName is the name of the caller when authentication is off.
const AnonymousName = "anonymous"

// Anonymous is the caller of every request when authentication is off.
func Anonymous() *Caller {
	return &Caller{Name: AnonymousName, Permissions: All(), Anonymous: true}
}

// Authenticator turns a request into its caller.
type Authenticator interface {
	// Authenticate returns the caller, or an error wrapping
	// ErrNoCredentials or ErrInvalidCredentials.
	Authenticate(r *http.Request) (*Caller, error)
}

// Chain tries each authenticator in turn; the first that accepts the
// request names the caller. When none does, the error is that of the first
// method that found bad credentials, else ErrNoCredentials.
type Chain []Authenticator

var _ Authenticator = Chain(nil)

// Authenticate implements Authenticator.
func (c Chain) Authenticate(r *http.Request) (*Caller, error) {
	var invalid error
	for _, a := range c {
		caller, err := a.Authenticate(r)
		switch {
		case err == nil:
			return caller, nil
		case invalid == nil && !errors.Is(err, ErrNoCredentials):
			invalid = err
		}
	}
	if invalid != nil {
		return nil, invalid
	}
	if r.Header.Get("Authorization") != "" {
		return nil, fmt.Errorf("%w: the Authorization header is not accepted by any configured method", ErrInvalidCredentials)
	}
	return nil, fmt.Errorf("%w: send Authorization: Bearer <API key or token> or a client certificate", ErrNoCredentials)
}

// bearer returns the token of an "Authorization: Bearer <token>" header;
// ok is false when the header is absent or of another scheme.
func bearer(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

type ctxKey struct{}

// WithCaller returns ctx carrying the request's caller.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// IsCallerKey reports whether key is the context key WithCaller sets and
// CallerFrom reads: a context type of its own (the REST adapter's request
// scope) can answer the caller for it, instead of a WithCaller per request.
func IsCallerKey(key any) bool {
	_, ok := key.(ctxKey)
	return ok
}

// CallerFrom returns the caller in ctx, nil when the request was not
// authenticated (an open route without credentials, or no adapter
// middleware in front).
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(ctxKey{}).(*Caller)
	return c
}

// Initiator is the initiator to record for a request: the caller's name
// when it is authenticated, else the one the request names itself.
func Initiator(ctx context.Context, fromBody string) string {
	if c := CallerFrom(ctx); c != nil && !c.Anonymous {
		return c.Name
	}
	return fromBody
}

// ForbiddenError says which permission a caller lacks.
type ForbiddenError struct {
	Caller     string
	Permission Permission
}

func (e *ForbiddenError) Error() string {
	return "caller " + e.Caller + " lacks " + e.Permission.String()
}

// Unwrap makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// Check reports whether the caller in ctx may do verb on job (a job type
// or saga name): nil, or a *ForbiddenError. A context with no caller
// passes: the adapter's middleware answers 401 before any handler runs for
// a route that needs credentials, so none means the handler is served by
// code that does not authenticate (a router of your own).
func Check(ctx context.Context, verb Verb, job string) error {
	c := CallerFrom(ctx)
	if c == nil || c.Permissions.Allows(verb, job) {
		return nil
	}
	return &ForbiddenError{Caller: c.Name, Permission: Permission{Verb: verb, Job: job}}
}
