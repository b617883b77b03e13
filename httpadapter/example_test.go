package httpadapter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/jetjobs/jetjobs"
	"github.com/jetjobs/jetjobs/httpadapter"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
	"github.com/jetjobs/jetjobs/jobs"
)

type echo struct{}

func (echo) Execute(_ context.Context, req *jobs.Request) (*jobs.Response, error) {
	return jobs.Completed("echoed", req.Parameters), nil
}

// The REST adapter on a router of one's own: an engine without its own
// HTTP server, the adapter built from the engine's parts, and a caller
// holding an API key with the run permission on the job.
func ExampleNewRouter() {
	dir, err := os.MkdirTemp("", "jetjobs-http-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := jetjobs.DefaultConfig()
	cfg.NATS.DataDir, cfg.NATS.Listen, cfg.HTTP.Addr = dir, "off", ""
	reg := jobs.NewRegistry()
	reg.MustRegister("echo", echo{})
	eng, err := jetjobs.New(cfg, reg, jetjobs.WithLogger(zerolog.Nop()))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop()

	keyFile := "keys:\n- name: crm-sync\n  sha256: " + auth.HashKey("s3cr3t-key") + "\n  permissions: [run:echo]\n"
	keys, err := auth.ParseAPIKeys(map[string][]byte{"keys.yaml": []byte(keyFile)})
	if err != nil {
		panic(err)
	}
	router := httpadapter.NewRouter(httpadapter.Deps{Client: eng.Client(), Registry: eng.Registry(),
		Conn: eng.Conn(), JS: eng.JetStream(), State: eng.State().Bucket()},
		httpadapter.Options{Auth: keys})
	srv := httptest.NewServer(router)
	defer srv.Close()

	post := func(key string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/echo/execute",
			strings.NewReader(`{"parameters":{"msg":"hi"}}`))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.Contains(string(body), `"msg":"hi"`))
	}
	post("")           // no credentials
	post("s3cr3t-key") // run:echo
	// Output:
	// 401 false
	// 200 true
}
