// Package esclient builds Elasticsearch clients from the environment
// variables every activitylog command shares: ES_URL, either
// ES_USERNAME/ES_PASSWORD or ES_API_KEY, and ES_COMPRESSION.
package esclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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
	// Compression asks Elasticsearch for gzip-compressed responses. It is
	// off by default: next to the cluster, compressing and decompressing
	// cost both sides more time than the bytes saved on the wire, which is
	// also why Elastic's Java and Python clients leave it off. Turn it on
	// when the link to the cluster is slow or metered.
	Compression bool
	// Transport, when set, carries the client's requests (tests use it to
	// record them); nil means HTTPTransport.
	Transport http.RoundTripper

	// badCompression is an ES_COMPRESSION value that is not a boolean,
	// reported by Validate.
	badCompression string
}

// maxIdleConnsPerHost keeps enough idle connections per node for a
// service's concurrent requests; Go's default of 2 makes every request
// beyond the second open a new connection.
const maxIdleConnsPerHost = 64

// FromEnv reads ES_URL (comma-separated addresses allowed), ES_USERNAME,
// ES_PASSWORD, ES_API_KEY and ES_COMPRESSION (true or false) through getenv.
func FromEnv(getenv func(string) string) Config {
	c := Config{
		Username: getenv("ES_USERNAME"),
		Password: getenv("ES_PASSWORD"),
		APIKey:   getenv("ES_API_KEY"),
	}
	if v := strings.TrimSpace(getenv("ES_COMPRESSION")); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			c.badCompression = v
		}
		c.Compression = on
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
	if c.badCompression != "" {
		return fmt.Errorf("ES_COMPRESSION %q is not true or false", c.badCompression)
	}
	for _, u := range c.urls() {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("ES_URL %q is not an http(s) URL", redactURL(u, p, err))
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

// HTTPTransport returns the HTTP transport of a client without Transport:
// Go's default transport, with more idle connections per node, asking for
// compressed responses only when Compression is set.
func (c Config) HTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.DisableCompression = !c.Compression
	return t
}

// Typed returns a client for the typed API.
func (c Config) Typed() (*elasticsearch.TypedClient, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tr := c.Transport
	if tr == nil {
		tr = c.HTTPTransport()
	}
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses: c.urls(),
		Username:  c.Username,
		Password:  c.Password,
		APIKey:    c.APIKey,
		Transport: tr,
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}
	return es, nil
}

// Reader returns a typed client for a long-running service that only reads
// (the query service): its requests go through InlineTransport, unless
// Transport is set.
func (c Config) Reader() (*elasticsearch.TypedClient, error) {
	if c.Transport == nil {
		c.Transport = c.InlineTransport()
	}
	return c.Typed()
}

// redactURL is u for an error message, its password masked (the client
// takes credentials in the URL, and the message goes to logs): as
// url.URL.Redacted shows it when u parsed with a user, and otherwise with
// everything between "://" (or the start) and the last "@" masked. The last
// "@" of the whole string, not of the host part: the URL is not valid, so
// where its host part ends is a guess, and a generated password may hold
// the '/', '?' or '#' that would end it ("http://elastic:s3/cret@es"), or
// the scheme be missing ("elastic:s3cret@es", whose user reads as one).
func redactURL(u string, p *url.URL, parseErr error) string {
	if parseErr == nil && p.User != nil {
		return p.Redacted()
	}
	at := strings.LastIndex(u, "@")
	if at < 0 {
		return u
	}
	start := 0
	if i := strings.Index(u, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return u[:start] + "xxxxx" + u[at:]
}
