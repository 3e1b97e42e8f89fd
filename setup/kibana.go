package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/activitylog/activitylog/dashboards"
)

// Environment variables read by KibanaConfigFromEnv.
const (
	// EnvKibanaURL is Kibana's base URL, e.g. http://kibana:5601. Empty
	// means no Kibana: dashboards are not imported.
	EnvKibanaURL = "KIBANA_URL"
	// EnvKibanaUsername and EnvKibanaPassword authenticate to Kibana; when
	// both are empty the Elasticsearch credentials are used: ES_USERNAME and
	// ES_PASSWORD, or else ES_API_KEY.
	EnvKibanaUsername = "KIBANA_USERNAME"
	EnvKibanaPassword = "KIBANA_PASSWORD"
	// EnvKibanaSpace is the Kibana space to import into; empty is the default space.
	EnvKibanaSpace = "KIBANA_SPACE"
)

// ErrKibanaImport is wrapped by ImportDashboards errors that Kibana reported.
var ErrKibanaImport = errors.New("kibana saved objects import failed")

// maxKibanaResponse bounds how much of Kibana's answer is read.
const maxKibanaResponse = 8 << 20

// KibanaConfig locates and authenticates to Kibana.
type KibanaConfig struct {
	// URL is Kibana's base URL (http or https). Empty disables the import.
	URL string
	// Username and Password authenticate with HTTP basic auth; empty sends
	// no credentials (a Kibana without security) unless APIKey is set.
	Username, Password string
	// APIKey authenticates with an Elasticsearch API key (the base64
	// "id:key" form), sent as "Authorization: ApiKey". It may not be set
	// with Username or Password.
	APIKey string
	// Space is the Kibana space to import into; empty means the default space.
	Space string
	// Client sends the request; nil means a client with no timeout of its
	// own, bounded by the context.
	Client *http.Client
	// RetryInterval is how long to wait before trying again while Kibana is
	// unreachable or answers 502, 503 or 504 (it does until it has connected
	// to Elasticsearch); retries stop when the context ends. Zero means
	// DefaultKibanaRetryInterval.
	RetryInterval time.Duration
}

// DefaultKibanaRetryInterval is KibanaConfig.RetryInterval's default.
const DefaultKibanaRetryInterval = 5 * time.Second

// KibanaConfigFromEnv reads KIBANA_URL, KIBANA_USERNAME, KIBANA_PASSWORD and
// KIBANA_SPACE through getenv, falling back to the credentials activityctl
// uses for Elasticsearch: ES_USERNAME and ES_PASSWORD, or ES_API_KEY.
func KibanaConfigFromEnv(getenv func(string) string) KibanaConfig {
	c := KibanaConfig{
		URL:      strings.TrimRight(strings.TrimSpace(getenv(EnvKibanaURL)), "/"),
		Username: getenv(EnvKibanaUsername),
		Password: getenv(EnvKibanaPassword),
		Space:    getenv(EnvKibanaSpace),
	}
	if c.Username == "" && c.Password == "" {
		c.Username, c.Password = getenv("ES_USERNAME"), getenv("ES_PASSWORD")
	}
	if c.Username == "" && c.Password == "" {
		// Without this a deployment that gives setup an API key would
		// send the import unauthenticated, and fail with 401.
		c.APIKey = getenv("ES_API_KEY")
	}
	return c
}

// Enabled reports whether a Kibana URL is configured.
func (c KibanaConfig) Enabled() bool { return c.URL != "" }

// importURL returns the saved-objects import endpoint.
func (c KibanaConfig) importURL() (string, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		// The parse error quotes the URL, password included.
		return "", fmt.Errorf("%s is not an http(s) URL", EnvKibanaURL)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if u.Opaque != "" {
			// "user:password@host" without a scheme parses as scheme
			// "user" and an opaque rest, which Redacted keeps whole.
			return "", fmt.Errorf("%s is not an http(s) URL (scheme %q)", EnvKibanaURL, u.Scheme)
		}
		return "", fmt.Errorf("%s %q is not an http(s) URL", EnvKibanaURL, u.Redacted())
	}
	if (c.Username == "") != (c.Password == "") {
		return "", fmt.Errorf("%s and %s must be set together", EnvKibanaUsername, EnvKibanaPassword)
	}
	if c.APIKey != "" && c.Username != "" {
		return "", fmt.Errorf("set either an API key or %s and %s, not both", EnvKibanaUsername, EnvKibanaPassword)
	}
	path := strings.TrimRight(u.Path, "/")
	if c.Space != "" {
		path += "/s/" + url.PathEscape(c.Space)
	}
	u.Path = path + "/api/saved_objects/_import"
	u.RawQuery = url.Values{"overwrite": {"true"}}.Encode()
	return u.String(), nil
}

// importResponse is Kibana's answer to a saved-objects import.
type importResponse struct {
	Success        bool `json:"success"`
	SuccessCount   int  `json:"successCount"`
	SuccessResults []struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		Overwrite bool   `json:"overwrite"`
	} `json:"successResults"`
	Errors []struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Title string `json:"title"`
		Error struct {
			Type       string `json:"type"`
			Message    string `json:"message"`
			References []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"references"`
		} `json:"error"`
	} `json:"errors"`
}

// ImportDashboards imports the embedded saved objects (package dashboards)
// into Kibana with POST /api/saved_objects/_import?overwrite=true. It is
// idempotent: every object has a fixed id, and an object that exists is
// overwritten, reported Updated; a new one is reported Created.
func ImportDashboards(ctx context.Context, c KibanaConfig) ([]Change, error) {
	ndjson, err := dashboards.NDJSON()
	if err != nil {
		return nil, err
	}
	return importSavedObjects(ctx, c, ndjson)
}

func importSavedObjects(ctx context.Context, c KibanaConfig, ndjson []byte) ([]Change, error) {
	endpoint, err := c.importURL()
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", "activitylog.ndjson")
	if err != nil {
		return nil, fmt.Errorf("build import request: %w", err)
	}
	if _, err := part.Write(ndjson); err != nil {
		return nil, fmt.Errorf("build import request: %w", err)
	}
	if err := form.Close(); err != nil {
		return nil, fmt.Errorf("build import request: %w", err)
	}
	interval := c.RetryInterval
	if interval <= 0 {
		interval = DefaultKibanaRetryInterval
	}
	var status int
	var raw []byte
	// notReady is Kibana's last "not ready" answer: when the deadline cuts
	// the last attempt short, it says more than the cut request does.
	var notReady error
	for {
		status, raw, err = postImport(ctx, c, endpoint, form.FormDataContentType(), body.Bytes())
		retry := err != nil || status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
		if !retry {
			break
		}
		if err == nil {
			notReady = fmt.Errorf("%w: Kibana not ready: HTTP %d: %s", ErrKibanaImport, status, truncate(raw, 512))
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			why := err
			if notReady != nil && (err == nil || errors.Is(err, ctx.Err())) {
				why = notReady
			}
			return nil, fmt.Errorf("import dashboards into Kibana (gave up: %w): %w", ctx.Err(), why)
		case <-t.C:
		}
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d: %s", ErrKibanaImport, status, truncate(raw, 512))
	}
	var res importResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("%w: unreadable response: %w", ErrKibanaImport, err)
	}
	if !res.Success || len(res.Errors) > 0 {
		var msgs []string
		for _, e := range res.Errors {
			m := fmt.Sprintf("%s %s: %s", e.Type, e.ID, e.Error.Type)
			if e.Error.Message != "" {
				m += " (" + e.Error.Message + ")"
			}
			for _, r := range e.Error.References {
				m += fmt.Sprintf(" missing %s %s", r.Type, r.ID)
			}
			msgs = append(msgs, m)
		}
		return nil, fmt.Errorf("%w: %d imported, errors: %s", ErrKibanaImport, res.SuccessCount, strings.Join(msgs, "; "))
	}
	changes := make([]Change, 0, len(res.SuccessResults))
	for _, r := range res.SuccessResults {
		action := Created
		if r.Overwrite {
			action = Updated
		}
		changes = append(changes, Change{Kind: "kibana " + r.Type, Name: r.ID, Action: action})
	}
	return changes, nil
}

// postImport sends one import request and returns the status and body.
func postImport(ctx context.Context, c KibanaConfig, endpoint, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build import request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	// Kibana refuses state-changing API calls without this header (CSRF protection).
	req.Header.Set("kbn-xsrf", "activitylog")
	switch {
	case c.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+c.APIKey)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	client := c.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("import dashboards into Kibana: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxKibanaResponse))
	if err != nil {
		return 0, nil, fmt.Errorf("import dashboards into Kibana: read response: %w", err)
	}
	return resp.StatusCode, raw, nil
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
