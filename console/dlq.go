package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/jetjobs/jetjobs/bus"
	"github.com/jetjobs/jetjobs/httpadapter/auth"
)

// dlqList lists dead letters through GET {base}/dlq (admin).
func (c *Console) dlqList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := url.Values{}
	for _, k := range []string{"jobType", "after"} {
		if s := q.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	v.Set("limit", "50")
	var pg bus.DLQPage
	err := c.get(r, c.o.BasePath+"/dlq?"+v.Encode(), &pg)
	next := ""
	if pg.Next != 0 {
		nv := url.Values{"after": {strconv.FormatUint(pg.Next, 10)}}
		if j := q.Get("jobType"); j != "" {
			nv.Set("jobType", j)
		}
		next = Prefix + "/dlq?" + nv.Encode()
	}
	purge := c.o.BasePath + "/dlq?all=true"
	if j := q.Get("jobType"); j != "" {
		purge = c.o.BasePath + "/dlq?jobType=" + url.QueryEscape(j)
	}
	c.render(w, r, "dlq", err, map[string]any{"Page": pg, "Next": next, "JobType": q.Get("jobType"),
		"Purge": purge, "CanAdmin": can(r, auth.Admin, orAll(q.Get("jobType")))})
}

func orAll(job string) string {
	if job == "" {
		return auth.AllJobs
	}
	return job
}

func (c *Console) dlqDetail(w http.ResponseWriter, r *http.Request) {
	seq := chi.URLParam(r, "seq")
	var e bus.DLQEntry
	if err := c.get(r, c.o.BasePath+"/dlq/"+pathEscape(seq), &e); err != nil {
		c.render(w, r, "dlqentry", err, nil)
		return
	}
	c.render(w, r, "dlqentry", nil, map[string]any{"E": e, "Command": prettyJSON(e.Command),
		"URL": c.o.BasePath + "/dlq/" + pathEscape(seq), "CanAdmin": can(r, auth.Admin, e.JobType)})
}
