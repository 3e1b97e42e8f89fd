// Package esclient builds Elasticsearch clients from the environment
// variables every activitylog command shares: ES_URL, and either
// ES_USERNAME/ES_PASSWORD or ES_API_KEY.
package esclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
)

// DefaultURL is used when ES_URL is empty.
const DefaultURL = "http://localhost:9200"

// Config locates and authenticates to an Elasticsearch cluster.
type Config struct {
	// URLs are the node addresses; empty means DefaultURL.
	URLs []string
	// Username and Password authenticate with HTTP basic auth.
	Username, Password string
	// APIKey authenticates with an API key (the base64 "id:key" form);
	// it excludes Username and Password.
	APIKey string
	// Transport, when set, carries the client's requests (tests use it to
	// record them); nil means the client's default transport.
	Transport http.RoundTripper
}

// FromEnv reads ES_URL (comma-separated addresses allowed), ES_USERNAME,
// ES_PASSWORD and ES_API_KEY through getenv.
func FromEnv(getenv func(string) string) Config {
	c := Config{
		Username: getenv("ES_USERNAME"),
		Password: getenv("ES_PASSWORD"),
		APIKey:   getenv("ES_API_KEY"),
	}
	for _, u := range strings.Split(getenv("ES_URL"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.APIKey != "" && (c.Username != "" || c.Password != "") {
		return errors.New("set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both")
	}
	if (c.Username == "") != (c.Password == "") {
		return errors.New("ES_USERNAME and ES_PASSWORD must be set together")
	}
	for _, u := range c.urls() {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("ES_URL %q is not an http(s) URL", u)
		}
	}
	return nil
}

func (c Config) urls() []string {
	if len(c.URLs) == 0 {
		return []string{DefaultURL}
	}
	return c.URLs
}

// Typed returns a client for the typed API.
func (c Config) Typed() (*elasticsearch.TypedClient, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses: c.urls(),
		Username:  c.Username,
		Password:  c.Password,
		APIKey:    c.APIKey,
		Transport: c.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}
	return es, nil
}
