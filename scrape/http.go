package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gputune/gputune/internal/printable"
)

// HTTPSource scrapes a server's /metrics over one keep-alive connection.
// Fetch is safe for concurrent use but serialises scrapes.
type HTTPSource struct {
	url     string
	client  *http.Client
	maxBody int64
	now     func() time.Time
	log     *slog.Logger

	// lastFlavor and lastSeries are what the previous scrape mapped, so a
	// change of mapping (server upgrade, restart with other flags) is logged.
	lastFlavor Flavor
	lastSeries [AllSignals]string

	mu     sync.Mutex
	body   bytes.Buffer
	parser *Parser
}

// HTTPOption configures NewHTTPSource.
type HTTPOption func(*HTTPSource)

// WithParserOptions configures the source's parser (WithTPOTBuckets,
// WithAllBuckets).
func WithParserOptions(opts ...ParserOption) HTTPOption {
	return func(s *HTTPSource) { s.parser = NewParser(opts...) }
}

// WithTimeout bounds each scrape (default 250 ms, below a 300 ms period).
func WithTimeout(d time.Duration) HTTPOption {
	return func(s *HTTPSource) { s.client.Timeout = d }
}

// WithHTTPClient replaces the client (its Timeout is kept as given).
func WithHTTPClient(c *http.Client) HTTPOption {
	return func(s *HTTPSource) { s.client = c }
}

// WithMaxBodyBytes caps the response size (default 16 MiB).
func WithMaxBodyBytes(n int64) HTTPOption {
	return func(s *HTTPSource) { s.maxBody = n }
}

// WithClock sets the clock that stamps samples (default time.Now).
func WithClock(now func() time.Time) HTTPOption {
	return func(s *HTTPSource) { s.now = now }
}

// WithLogger logs, at Info, which series supplied each signal on the first
// scrape and whenever that mapping changes (default: no logging).
func WithLogger(l *slog.Logger) HTTPOption {
	return func(s *HTTPSource) { s.log = l }
}

// ErrBadURL: the metrics URL cannot be scraped as given.
var ErrBadURL = errors.New("bad metrics URL")

// NewHTTPSource checks rawURL and builds a source with its own keep-alive
// client.
func NewHTTPSource(rawURL string, opts ...HTTPOption) (*HTTPSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadURL, rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w %q: use an http(s) URL such as http://127.0.0.1:8000/metrics", ErrBadURL, rawURL)
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		// The server is usually on loopback: gzip would cost more CPU than
		// it saves.
		DisableCompression: true,
	}
	s := &HTTPSource{
		url:     u.String(),
		client:  &http.Client{Transport: transport, Timeout: 250 * time.Millisecond},
		maxBody: 16 << 20,
		now:     time.Now,
		parser:  NewParser(),
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// URL is the scraped address.
func (s *HTTPSource) URL() string { return s.url }

// Fetch scrapes once. The sample is stamped when the body has been read.
// The fetch and the parse share ctx's deadline: a body that arrives in time
// but takes too long to parse is a failed scrape, not a stalled loop. The
// error's text is printable: a server's body reaches it only through
// printable.String.
func (s *HTTPSource) Fetch(ctx context.Context) (Sample, error) {
	sample, err := s.fetch(ctx)
	if err != nil {
		return sample, printableError{err}
	}
	return sample, nil
}

// printableError keeps the chain for errors.Is and makes the text safe for
// a terminal and a log line.
type printableError struct{ err error }

func (e printableError) Error() string { return printable.String(e.err.Error(), maxErrorText) }
func (e printableError) Unwrap() error { return e.err }

// maxErrorText bounds a scrape error's text.
const maxErrorText = 512

func (s *HTTPSource) fetch(ctx context.Context) (Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Sample{}, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	// Ask for the classic text format; whatever comes back is parsed as
	// text regardless of its Content-Type version (prometheus_client ≥ 0.23
	// says version=1.0.0, which expfmt calls unknown).
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	req.Header.Set("User-Agent", "gputune")
	resp, err := s.client.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return Sample{}, fmt.Errorf("scrape %s: HTTP %s: %s", s.url, printable.String(resp.Status, 64), strings.TrimSpace(printable.String(string(snippet), 200)))
	}
	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "protobuf") {
		return Sample{}, fmt.Errorf("scrape %s: %w: got Content-Type %q, want the text format", s.url, ErrMalformed, printable.String(ct, 128))
	}
	s.body.Reset()
	n, err := s.body.ReadFrom(io.LimitReader(resp.Body, s.maxBody+1))
	if err != nil {
		return Sample{}, fmt.Errorf("scrape %s: read body: %w", s.url, err)
	}
	if n > s.maxBody {
		return Sample{}, fmt.Errorf("scrape %s: body larger than %d bytes", s.url, s.maxBody)
	}
	at := s.now()
	sample, err := s.parser.ParseContext(ctx, s.body.Bytes(), at)
	if err != nil {
		return sample, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	if s.log != nil && (sample.Flavor != s.lastFlavor || sample.Series != s.lastSeries) {
		s.logMapping(sample)
	}
	s.lastFlavor, s.lastSeries = sample.Flavor, sample.Series
	return sample, nil
}

func (s *HTTPSource) logMapping(sample Sample) {
	attrs := []any{slog.String("url", s.url), slog.String("flavor", string(sample.Flavor))}
	var missing []string
	for sig := Signal(0); int(sig) < AllSignals; sig++ {
		if sample.Series[sig] == "" {
			missing = append(missing, sig.String())
			continue
		}
		attrs = append(attrs, slog.String(sig.String(), sample.Series[sig]))
	}
	attrs = append(attrs, slog.String("missing", strings.Join(missing, ",")))
	s.log.Info("metrics mapping", attrs...)
}
