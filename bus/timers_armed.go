package bus

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetjobs/jetjobs/jobs"
)

var _ jobs.ArmedLister = (*Timers)(nil)

// armedPageTimeout bounds one page of ArmedSet's listing when the caller's
// context has no deadline (the reconciler's has none): a full page is
// about 6 MB of JSON.
const armedPageTimeout = 30 * time.Second

// ArmedSet lists the CHECK timers of jobType stored now
// (P.timer.<job>.<executionId> on JOBS_TIMERS) and returns a test of
// whether an execution was among them, so that the timer reconciler asks
// once per job type instead of once per live execution (Armed).
//
// The listing is the stream-info request with a subject filter, which
// counts the messages of every matching subject; the server sends at most
// 100,000 subjects a response (JSMaxSubjectDetails) and the rest on
// request, from an offset into the subjects in sorted order. The pages are
// requested here rather than through Stream.Info, which gathers every page
// into one map of whole subjects (about 100 bytes a timer): each page is
// folded into a sorted slice of 64-bit hashes of the execution ids (8 bytes
// a timer: 800 KB for 100,000) and dropped, so what the listing holds at
// once is the set plus one page (about 6 MB of JSON and its map).
//
// The answer is a snapshot. A subject missed by it (one stored after, or
// skipped between pages when a subject before the offset went away)
// only costs the caller the single lookup it would have made anyway. A
// false "armed" comes only from a hash collision: the seed is new each
// listing, so one happens with odd ids/2^64 (5e-15 for 100,000) and is not
// repeated by the next pass.
func (t *Timers) ArmedSet(ctx context.Context, jobType string) (func(executionID string) bool, error) {
	set := armedSet{seed: maphash.MakeSeed()}
	prefix := t.subjects.TimerOf(jobType, "")
	req := streamInfoSubjects{Filter: prefix + "*"}
	subject := apiPrefix(t.js) + "STREAM.INFO." + StreamTimers
	for {
		page, err := t.subjectsPage(ctx, subject, &req)
		if err != nil {
			return nil, &jobs.Error{Code: jobs.CodeUnavailable, Msg: "list CHECK timers", Err: err}
		}
		if set.hashes == nil {
			set.hashes = make([]uint64, 0, page.Total)
		}
		for subj := range page.State.Subjects {
			if id, ok := strings.CutPrefix(subj, prefix); ok {
				set.add(id)
			}
		}
		req.Offset += len(page.State.Subjects)
		if len(page.State.Subjects) == 0 || req.Offset >= page.Total {
			break
		}
	}
	set.seal()
	return set.has, nil
}

// streamInfoSubjects is the body of a stream-info request asking for the
// subjects matching Filter, from the Offset-th in sorted order.
type streamInfoSubjects struct {
	Filter string `json:"subjects_filter"`
	Offset int    `json:"offset,omitempty"`
}

// subjectsPage is what ArmedSet reads of a stream-info response.
type subjectsPage struct {
	Error *jetstream.APIError `json:"error,omitempty"`
	Total int                 `json:"total"`
	State struct {
		Subjects map[string]uint64 `json:"subjects"`
	} `json:"state"`
}

func (t *Timers) subjectsPage(ctx context.Context, subject string, req *streamInfoSubjects) (*subjectsPage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, armedPageTimeout)
		defer cancel()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	msg, err := t.js.Conn().RequestWithContext(ctx, subject, body)
	if err != nil {
		return nil, err
	}
	var page subjectsPage
	if err := json.Unmarshal(msg.Data, &page); err != nil {
		return nil, err
	}
	if page.Error != nil {
		if page.Error.ErrorCode == jetstream.JSErrCodeStreamNotFound {
			return nil, jetstream.ErrStreamNotFound
		}
		return nil, page.Error
	}
	return &page, nil
}

// apiPrefix is where js sends its API requests, as jetstream.New,
// NewWithDomain and NewWithAPIPrefix set it.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	switch {
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	}
	return jetstream.DefaultAPIPrefix
}

// armedSet is a set of execution ids kept as their sorted 64-bit hashes.
type armedSet struct {
	seed   maphash.Seed
	hashes []uint64
}

func (s *armedSet) add(id string) { s.hashes = append(s.hashes, maphash.String(s.seed, id)) }

// seal sorts the hashes (a subject listed on two pages counts once) and
// drops the spare capacity.
func (s *armedSet) seal() {
	slices.Sort(s.hashes)
	s.hashes = slices.Clip(slices.Compact(s.hashes))
}

func (s *armedSet) has(id string) bool {
	_, ok := slices.BinarySearch(s.hashes, maphash.String(s.seed, id))
	return ok
}
