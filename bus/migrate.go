package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrCommandsNotMigrated is returned at start-up when JOBS_COMMANDS still
// has the limits retention of engines before work-queue retention and
// cannot be recreated because it holds commands not handled yet.
// docs/operations.md (Security, Secrets) gives the migration.
var ErrCommandsNotMigrated = errors.New("bus: JOBS_COMMANDS has limits retention and holds unhandled commands")

// ensureCommandStream creates JOBS_COMMANDS as a work queue, so a command
// leaves the stream once its consumer acknowledges it (it carries the
// caller's parameters, secrets included: docs/wire.md).
//
// NATS cannot change the retention of a stream in place. A JOBS_COMMANDS of
// an older engine (limits retention, every command kept for its max age) is
// deleted and created again when every command in it has been handled; it
// is sealed before the final check, so nothing can be published into it
// between the check and the deletion (a publisher gets an error and may
// retry, nothing is lost silently). Otherwise start-up fails with
// ErrCommandsNotMigrated.
func ensureCommandStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	stream, err := js.Stream(ctx, sc.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, sc)
		return err
	}
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	if info.Config.Retention == sc.Retention {
		_, err = js.UpdateStream(ctx, sc)
		return err
	}
	if !info.Config.Sealed {
		if n, why, err := unhandledCommands(ctx, stream, sc); err != nil || n > 0 {
			return refuseMigration(n, why, err)
		}
		cfg := info.Config
		cfg.Sealed = true
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bus: sealing %s before recreating it: %w", sc.Name, err)
		}
	}
	// Sealed: nothing new can arrive. Check again for what came between.
	if n, why, err := unhandledCommands(ctx, stream, sc); err != nil || n > 0 {
		return refuseMigration(n, why, err)
	}
	if err := js.DeleteStream(ctx, sc.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("bus: deleting the old %s: %w", sc.Name, err)
	}
	return recreateStream(ctx, js, sc)
}

// recreateStream creates a stream just deleted. The server removes the old
// stream's files after it answers the delete, so for a moment a create of the
// same name can fail to make its store (JSStreamStoreFailedF, 10049): that
// one is tried again for a few seconds, since the commands already moved
// nowhere and start-up should not fail on a race.
func recreateStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	const storeFailed jetstream.ErrorCode = 10049
	backoff := 20 * time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := js.CreateStream(ctx, sc)
		var apiErr *jetstream.APIError
		if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != storeFailed || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

func refuseMigration(n uint64, why string, err error) error {
	if err != nil {
		return fmt.Errorf("bus: checking the old %s before recreating it as a work queue: %w", StreamCommands, err)
	}
	return fmt.Errorf("%w: %d (%s); let an engine of the previous version handle them, "+
		"then start this one (docs/operations.md, Security)", ErrCommandsNotMigrated, n, why)
}

// unhandledCommands counts the commands of a limits-retention command
// stream no job consumer has acknowledged: pending or unacknowledged on a
// consumer cmd-<job>, or on a subject no such consumer reads (not yet swept
// to the DLQ).
func unhandledCommands(ctx context.Context, stream jetstream.Stream, sc jetstream.StreamConfig) (uint64, string, error) {
	var n uint64
	var why []string
	var filters []string
	names := stream.ListConsumers(ctx)
	for ci := range names.Info() {
		if !strings.HasPrefix(ci.Name, "cmd-") {
			continue
		}
		filters = append(filters, ci.Config.FilterSubject)
		filters = append(filters, ci.Config.FilterSubjects...)
		if k := ci.NumPending + uint64(ci.NumAckPending); k > 0 {
			n += k
			why = append(why, fmt.Sprintf("%d on consumer %s", k, ci.Name))
		}
	}
	if err := names.Err(); err != nil {
		return 0, "", err
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		return 0, "", err
	}
	for subject, count := range info.State.Subjects {
		if count > 0 && !matchesAny(subject, filters) {
			n += count
			why = append(why, fmt.Sprintf("%d on %s, which no job consumer reads", count, subject))
		}
	}
	return n, strings.Join(why, ", "), nil
}

// matchesAny reports whether subject matches one of the filters (tokens,
// with * and > wildcards).
func matchesAny(subject string, filters []string) bool {
	st := strings.Split(subject, ".")
	for _, f := range filters {
		if f != "" && subjectMatches(st, strings.Split(f, ".")) {
			return true
		}
	}
	return false
}

func subjectMatches(subject, filter []string) bool {
	for i, f := range filter {
		if f == ">" {
			return len(subject) > i
		}
		if i >= len(subject) || (f != "*" && f != subject[i]) {
			return false
		}
	}
	return len(subject) == len(filter)
}
