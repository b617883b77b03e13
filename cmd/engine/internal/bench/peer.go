package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Peer is another queue's no-op burn-down measured in the same sitting
// (--peer): its command runs just before and just after jetjobs'
// burn-down, so the two figures share the machine's state of the moment.
type Peer struct {
	Command    string    `json:"command"`
	Name       string    `json:"name,omitempty"` // what the command calls itself ("peer" in its JSON line)
	Jobs       int       `json:"jobs,omitempty"`
	JobsPerSec []float64 `json:"jobsPerSec,omitempty"` // one figure per run, in order
	Error      string    `json:"error,omitempty"`
}

// peerLine is the JSON line a peer command prints last, e.g.
// {"peer":"river","jobs":20000,"jobs_per_sec":17198.1}.
type peerLine struct {
	Peer       string   `json:"peer"`
	Jobs       int      `json:"jobs"`
	JobsPerSec *float64 `json:"jobs_per_sec"`
}

// Mean is the average of the peer's runs; 0 without any.
func (p *Peer) Mean() float64 {
	if len(p.JobsPerSec) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range p.JobsPerSec {
		sum += v
	}
	return sum / float64(len(p.JobsPerSec))
}

// runPeer runs the peer command once (through sh -c) and records its
// figure; a failure is recorded too, never fatal to the run.
func (e *env) runPeer(ctx context.Context, p *Peer) {
	if p.Error != "" {
		return // one failure says it all
	}
	e.say("== peer: %s", p.Command)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", p.Command)
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	line, perr := parsePeer(out.Bytes())
	switch {
	case err != nil:
		p.Error = fmt.Sprintf("%v: %s", err, lastLine(out.Bytes()))
	case perr != nil:
		p.Error = perr.Error()
	default:
		p.Name, p.Jobs = line.Peer, line.Jobs
		p.JobsPerSec = append(p.JobsPerSec, *line.JobsPerSec)
	}
}

// parsePeer finds the last line of a peer's output that is a JSON object
// with jobs_per_sec.
func parsePeer(out []byte) (peerLine, error) {
	var found *peerLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var l peerLine
		if json.Unmarshal([]byte(text), &l) == nil && l.JobsPerSec != nil {
			found = &l
		}
	}
	if found == nil {
		return peerLine{}, errors.New(`--peer: the command printed no JSON line with "jobs_per_sec" (last line: ` +
			lastLine(out) + ")")
	}
	return *found, nil
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// printPeer says the peer's figures beside jetjobs' burn-down.
func (rep *Report) printPeer(w io.Writer) {
	p := rep.Peer
	if p == nil {
		return
	}
	if p.Error != "" {
		fmt.Fprintf(w, "peer: ERROR %s (%s)\n", p.Error, p.Command)
		return
	}
	figs := make([]string, len(p.JobsPerSec))
	for i, v := range p.JobsPerSec {
		figs[i] = num(v)
	}
	fmt.Fprintf(w, "peer: %s, %d jobs: %s jobs/s (before and after the burn-down; `%s`)", p.Name, p.Jobs,
		strings.Join(figs, " and "), p.Command)
	// The worker model is the one the peer's benchmark measures (jobs
	// queued, then workers draining them); it runs right after burndown.
	for _, row := range []struct{ scenario, label string }{
		{ScenarioBurndown, "jetjobs burn-down"}, {ScenarioWorker, "worker burn-down"},
	} {
		if r := rep.result(row.scenario); r != nil && r.Error == "" && p.Mean() > 0 {
			fmt.Fprintf(w, "; %s %s jobs/s = %.2f of it", row.label, num(r.Throughput), r.Throughput/p.Mean())
		}
	}
	fmt.Fprintln(w)
}
