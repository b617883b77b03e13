package console_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jetjobs/jetjobs/jobs"
)

// The schedules page: an every-1s schedule created from its form is listed
// with its pattern, masked parameters and next runs; its ticks start
// executions that the executions list shows; it pauses from its row. A
// delayed start from the start form fires. A read-only caller sees the
// schedule and no action.
func schedulesPage(t *testing.T, f *fixture) {
	const job, name = "customer-import", "console-tick"
	row := `tr[data-schedule="` + job + `/` + name + `"]`
	ctx := f.tab(t, "ops-key")
	f.run(t, ctx,
		chromedp.Navigate(f.base+"/ui/schedules/"+job),
		chromedp.WaitVisible(chromedp.ID("schedule-new")),
		chromedp.SetValue(chromedp.ID("sc-name"), name),
		chromedp.SetValue(chromedp.ID("sc-kind"), "every"),
		chromedp.SetValue(chromedp.ID("sc-value"), "1s"),
		chromedp.SetValue(chromedp.ID("sc-params"), `{"datasetId":"sched","records":4,"batchSize":4,"batchDelay":"10ms","password":"hunter2"}`),
		chromedp.Click(css(`#schedule-new button[type=submit]`)),
		chromedp.WaitVisible(css(row)), // after the page's reload
	)
	if s := val(t, ctx, chromedp.Text(css(row+` [data-state-badge]`))); s != "active" {
		t.Errorf("state %q, want active", s)
	}
	if n := val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+row+` .next-runs time').length`)); n != 3 {
		t.Errorf("%d next runs shown, want 3", n)
	}
	params := val(t, ctx, chromedp.Text(css(row+` code.params`)))
	if !strings.Contains(params, `"password":"****"`) || strings.Contains(params, "hunter2") || !strings.Contains(params, `"datasetId":"sched"`) {
		t.Errorf("parameters cell %q: want the password masked", params)
	}
	// A tick's START: an execution <name>-<tick time> in the executions list.
	tick := `tr[data-key^="` + job + `/` + name + `-"]`
	// The list is not live for new rows: load it again until the tick's
	// execution is in (one a second while the schedule runs).
	for deadline := time.Now().Add(15 * time.Second); ; {
		f.run(t, ctx, chromedp.Navigate(f.base+"/ui/executions?job="+job), chromedp.WaitVisible(chromedp.ID("executions")))
		if val(t, ctx, chromedp.Evaluate[bool](`!!document.querySelector('`+tick+`')`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no execution of schedule %s in the executions list", name)
		}
	}
	// Back on the page: the ticks this engine took, then pause.
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/schedules"), chromedp.WaitVisible(css(row)))
	ticks := val(t, ctx, chromedp.Text(css(row+` [data-ticks]`)))
	if n, err := strconv.Atoi(ticks); err != nil || n < 1 {
		t.Errorf("ticks cell %q, want at least 1", ticks)
	}
	shot(t, ctx, "schedules")
	f.run(t, ctx,
		chromedp.Click(css(row+` button[data-post$="/pause"]`)),
		chromedp.WaitVisible(css(row+`[data-state="paused"]`)), // after the reload
	)
	if n := val(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+row+` .next-runs time').length`)); n != 0 {
		t.Errorf("a paused schedule shows %d next runs", n)
	}
	code, b := f.rest(t, http.MethodGet, "/api/v1/"+job+"/schedules/"+name, "ops-key", "")
	if code != http.StatusOK || !strings.Contains(b, `"paused":true`) {
		t.Errorf("after pause, REST says %d %s", code, b)
	}

	// A read-only caller: the schedule, no action, no form.
	reader := f.tab(t, "reader-key")
	f.run(t, reader, chromedp.Navigate(f.base+"/ui/schedules"), chromedp.WaitVisible(css(row)))
	if n := val(t, reader, chromedp.Evaluate[int](`document.querySelectorAll('[data-post], [data-delete], #schedule-new').length`)); n != 0 {
		t.Errorf("the schedules page shows %d actions to a reader", n)
	}

	// A delayed start from the start form: 202, then the execution exists.
	f.run(t, ctx,
		chromedp.Navigate(f.base+"/ui/start/"+job),
		chromedp.WaitVisible(chromedp.ID("start-delay")),
		chromedp.SetValue(chromedp.ID("params-json"), `{"datasetId":"later","records":4,"batchSize":4,"batchDelay":"10ms"}`),
		chromedp.SetValue(chromedp.ID("start-delay"), "1s"),
		chromedp.Click(css(`#start button[type=submit]`)),
	)
	val(t, ctx, chromedp.Poll[bool](`document.querySelector('#start').dataset.scheduled !== undefined`, chromedp.WithPollingTimeout(10*time.Second)))
	id := val(t, ctx, chromedp.Evaluate[string](`document.querySelector('#start').dataset.scheduled`))
	if flash := val(t, ctx, chromedp.Text(chromedp.ID("flash"))); !strings.Contains(flash, "start scheduled at") {
		t.Errorf("flash after a delayed start: %q", flash)
	}
	f.h.WaitFor(t, job, id, jobs.StatusCompleted)

	// Delete from the page.
	f.run(t, ctx, chromedp.Navigate(f.base+"/ui/schedules/"+job), chromedp.WaitVisible(css(row)))
	val(t, ctx, chromedp.Evaluate[bool](`window.confirm = () => true; true`))
	f.run(t, ctx,
		chromedp.Click(css(row+` button[data-delete]`)),
		chromedp.WaitVisible(css(`#schedules td[colspan]`)), // "No schedules", after the page's reload
	)
	if code, _ := f.rest(t, http.MethodGet, "/api/v1/"+job+"/schedules/"+name, "ops-key", ""); code != http.StatusNotFound {
		t.Errorf("after delete, GET the schedule: %d, want 404", code)
	}
}
