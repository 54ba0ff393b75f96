package fakecloud

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a clock the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// call sends one authenticated request to c's handler.
func call(t *testing.T, h http.Handler, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r *http.Request
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = httptest.NewRequest(method, path, strings.NewReader(string(b)))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("X-Auth-Token", token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// TestHoldAndPolls: a cluster finishes only once it has been looked at
// PollsToFinish times and Hold has passed since it was created, whichever
// comes last.
func TestHoldAndPolls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     Behaviour
		steps []time.Duration // clock advance before each GET
		want  []string
	}{{
		name:  "hold outlasts the polls",
		b:     Behaviour{PollsToFinish: 1, Hold: time.Minute, Finish: CreateComplete},
		steps: []time.Duration{0, 30 * time.Second, 29 * time.Second, time.Second},
		want:  []string{CreateInProgress, CreateInProgress, CreateInProgress, CreateComplete},
	}, {
		name:  "polls outlast the hold",
		b:     Behaviour{PollsToFinish: 3, Hold: time.Second, Finish: CreateFailed, FinishReason: "helm said no"},
		steps: []time.Duration{time.Hour, 0, 0, 0},
		want:  []string{CreateInProgress, CreateInProgress, CreateInProgress, CreateFailed},
	}, {
		name:  "no hold, no polls",
		b:     Behaviour{},
		steps: []time.Duration{0},
		want:  []string{CreateComplete},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
			c := newCloud(tc.b, clk.now)
			h := c.routes()
			tpl := c.SeedTemplate("t")
			code, out := call(t, h, "POST", "/magnum/v1/clusters", map[string]any{"name": "c", "cluster_template_id": tpl})
			require.Equal(t, http.StatusAccepted, code)
			uuid := out["uuid"].(string)

			var got []string
			for _, step := range tc.steps {
				clk.t = clk.t.Add(step)
				code, out := call(t, h, "GET", "/magnum/v1/clusters/"+uuid, nil)
				require.Equal(t, http.StatusOK, code)
				got = append(got, out["status"].(string))
			}
			assert.Equal(t, tc.want, got)
			// The records carry each answer.
			var recorded []string
			for _, q := range c.Records().Matching("GET", "/magnum/v1/clusters/") {
				recorded = append(recorded, q.ClusterStatus)
			}
			assert.Equal(t, tc.want, recorded)
		})
	}
}

func TestRecordsKeepStatusAndBodyButNotThePassword(t *testing.T) {
	c := newCloud(DefaultBehaviour(), time.Now)
	h := c.routes()
	r := httptest.NewRequest("POST", "/identity/v3/auth/tokens", strings.NewReader(`{"auth":{"identity":{"password":{"user":{"name":"`+Username+`","password":"`+Password+`","domain":{"name":"`+Domain+`"}}}},"scope":{"project":{"name":"`+Project+`","domain":{"name":"`+Domain+`"}}}}}`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusCreated, w.Code)
	code, _ := call(t, h, "POST", "/magnum/v1/clustertemplates", map[string]any{"name": "t", "coe": "kubernetes"})
	require.Equal(t, http.StatusBadRequest, code, "no image_id")

	rec := c.Records()
	require.Len(t, rec.Requests, 2)
	assert.Equal(t, http.StatusCreated, rec.Requests[0].Status)
	assert.Nil(t, rec.Requests[0].Body)
	assert.Equal(t, http.StatusBadRequest, rec.Requests[1].Status)
	assert.Equal(t, map[string]any{"name": "t", "coe": "kubernetes"}, rec.Requests[1].Body)
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	assert.NotContains(t, string(b), Password)
}
