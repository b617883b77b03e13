package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServeEngine runs an engine with the bench's job types on the NATS server
// at url until stdin closes or ctx ends; it prints "ready" once the engine
// consumes. It is `engine bench --serve-engine <url>`: the memory
// scenario's engine, in a process of its own so that its memory is its own.
func ServeEngine(ctx context.Context, url string, stdin io.Reader, stdout io.Writer) error {
	e := &env{url: url, cfg: Config{}.WithDefaults()}
	eng, _, err := e.engine(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Stop()
	if _, err := fmt.Fprintln(stdout, "ready"); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stdin); close(eof) }()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	return nil
}

// engineProcess is an engine running in a child process.
type engineProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startEngineProcess runs `<Self> bench --serve-engine <url>` and waits
// until its engine consumes.
func (e *env) startEngineProcess(ctx context.Context) (*engineProcess, error) {
	self := e.cfg.Self
	cmd := exec.Command(self[0], append(slices.Clone(self[1:]), "bench", "--serve-engine", e.url)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("engine process: %w", err)
	}
	p := &engineProcess{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if s == "ready" {
			return p, nil
		}
		err = fmt.Errorf("engine process: said %q instead of ready", s)
	case <-time.After(30 * time.Second):
		err = errors.New("engine process: not ready after 30s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.stop()
	return nil, err
}

// rss is the child's resident memory (and its peak) in MiB; 0 without /proc.
func (p *engineProcess) rss() (now, peak float64) {
	path := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status"
	return statusMiB(path, "VmRSS"), statusMiB(path, "VmHWM")
}

// stop closes the child's stdin, which stops its engine, and waits for it
// (killing it after 30s).
func (p *engineProcess) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
