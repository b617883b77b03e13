package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// embeddedPrefix, as --serve-engine's argument, asks for an engine with
// its own embedded server: "embedded:<nats.sync>".
const embeddedPrefix = "embedded:"

// SetGCDefaults, when set, is called by ServeEngineWith with whether its
// engine embeds its NATS server, before it starts: the engine binary sets
// it so that the memory scenario's engine process takes the collector
// defaults `engine run` would (cmd/engine/memory.go).
var SetGCDefaults func(ctx context.Context, embedded bool)

// ServeEngine runs an engine with the bench's job types until stdin closes
// or ctx ends; it prints "ready <url>" once the engine consumes. With url
// "embedded:<sync>" the engine runs its own embedded server (as `engine
// run` does with no nats.url), in a temporary directory, and url is that
// server's; otherwise it connects to url. It is `engine bench
// --serve-engine <url>`: the memory scenario's engine, in a process of its
// own so that its memory is its own.
func ServeEngine(ctx context.Context, url string, stdin io.Reader, stdout io.Writer) error {
	return ServeEngineWith(ctx, url, "", stdin, stdout)
}

// ServeEngineWith is ServeEngine with the engine configured from a YAML
// file (and JETJOBS_* variables) instead of the defaults, when configFile
// is not empty: `engine bench --serve-engine <url> --serve-config <file>`,
// the soak's engine (soak.go).
func ServeEngineWith(ctx context.Context, url, configFile string, stdin io.Reader, stdout io.Writer) error {
	e := &env{url: url, cfg: Config{EngineConfig: configFile}.WithDefaults()}
	sync, embedded := strings.CutPrefix(url, embeddedPrefix)
	if SetGCDefaults != nil {
		SetGCDefaults(ctx, embedded)
	}
	if embedded {
		dir, err := os.MkdirTemp("", "jetjobs-bench-engine-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		l, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the server
		if err != nil {
			return err
		}
		addr := l.Addr().String()
		_ = l.Close()
		e.url, e.ownServer = "", &ownServer{listen: addr, dir: dir, sync: sync}
	}
	eng, _, err := e.engine(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Stop()
	if _, err := fmt.Fprintln(stdout, "ready", eng.ClientURL()); err != nil {
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
	url   string // the NATS server it uses
}

// startEngineProcess runs `<Self> bench --serve-engine <url>` and waits
// until its engine consumes.
func (e *env) startEngineProcess(ctx context.Context, url string) (*engineProcess, error) {
	self := e.cfg.Self
	args := append(slices.Clone(self[1:]), "bench", "--serve-engine", url)
	if e.cfg.EngineConfig != "" {
		args = append(args, "--serve-config", e.cfg.EngineConfig)
	}
	cmd := exec.Command(self[0], args...)
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
		if u, ok := strings.CutPrefix(s, "ready "); ok {
			p.url = u
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
