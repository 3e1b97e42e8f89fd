package otlp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryable reports whether an export error may clear up if the batch is
// sent again: the collector unreachable, restarting, overloaded or slow.
// Refusals that a retry cannot cure (a missing or wrong token, a request the
// collector cannot read) are not, nor is any error not known to be
// transient.
//
// Over gRPC the exporter returns the call's status. Over HTTP it returns the
// transport's error (a *url.Error, which is a net.Error), an unexported
// error type for the statuses the OTLP specification calls retryable (429,
// 502, 503, 504), and a plain error for any other status.
func retryable(err error) bool {
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted,
			codes.Canceled, codes.OutOfRange, codes.DataLoss:
			return true
		case codes.ResourceExhausted:
			// Also what a gRPC server answers to a request larger than it
			// accepts ("received message larger than max"), which would be
			// retried forever while every newer record is dropped. The OTLP
			// specification retries it only when the server says recovery is
			// possible, with RetryInfo, as the exporter's own retries did.
			return hasRetryInfo(s)
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		isHTTPRetryable(err)
}

// tooLarge reports whether err refuses a request as larger than the
// collector, a proxy in front of it or the exporter accepts, which sending
// fewer records at a time may cure:
//   - gRPC: ResourceExhausted without RetryInfo saying "larger than max", as
//     grpc-go answers a message over the collector's max_recv_msg_size_mib
//     ("received message larger than max", or "... after decompression
//     larger than max" when compressed) or refuses to send one over the
//     client's own bound; with RetryInfo it is a throttle, retried whole;
//   - HTTP: 413, as a proxy answers, or 400 whose body says "request body too
//     large", as the collector answers past its max_request_body_size (it
//     reads the body through http.MaxBytesReader and answers a failed read
//     with 400);
//   - either exporter's own WithMaxRequestSize bound (64 MiB).
//
// The OTLP/HTTP exporter reports a status it does not retry only in its
// error's text, "failed to send logs to <URL>: <status> (body: <body>)", so
// it is read from there; TestProviderSplitsBatchRefusedAsTooLarge fails if a
// new exporter version changes it.
func tooLarge(err error) bool {
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.ResourceExhausted && !hasRetryInfo(s) &&
			strings.Contains(s.Message(), "larger than max")
	}
	return walkErrors(err, func(e error) bool {
		msg := e.Error()
		if strings.HasPrefix(msg, "request body too large: exceeded ") || // otlploghttp
			strings.HasPrefix(msg, "request message too large: exceeded ") { // otlploggrpc
			return true
		}
		rest, ok := strings.CutPrefix(msg, "failed to send logs to ")
		if !ok {
			return false
		}
		// The URL, as url.URL.String writes it, holds no space.
		_, rest, _ = strings.Cut(rest, " ")
		return strings.HasPrefix(rest, "413 ") ||
			strings.HasPrefix(rest, "400 ") && strings.Contains(rest, "request body too large")
	})
}

// hasRetryInfo reports whether s carries a google.rpc.RetryInfo detail.
func hasRetryInfo(s *status.Status) bool {
	for _, d := range s.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

// isHTTPRetryable reports whether err holds the OTLP/HTTP exporter's error
// for a retryable status. Its type is unexported, so it is known by name;
// TestProviderRetriesWhatTheExportersReport fails if a new exporter version
// renames it.
func isHTTPRetryable(err error) bool {
	return walkErrors(err, func(e error) bool { return fmt.Sprintf("%T", e) == "otlploghttp.retryableError" })
}

// partialSuccess reports whether err is only the exporters' OTLP partial
// success error, which they return for a request the collector took while
// rejecting some of its records (or only warning), and how many it rejected.
// Each exporter has its own copy of the type, in an internal package, so it
// is known by name and read by reflection;
// TestProviderCountsPartialSuccess fails if a new exporter version changes
// it.
func partialSuccess(err error) (rejected uint64, ok bool) {
	// The exporters join it with their other errors, which may be none.
	if j, isJoin := err.(interface{ Unwrap() []error }); isJoin {
		for _, e := range j.Unwrap() {
			n, ok := partialSuccess(e)
			if !ok {
				return 0, false
			}
			rejected += n
		}
		return rejected, len(j.Unwrap()) > 0
	}
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Struct || v.Type().Name() != "PartialSuccess" {
		return 0, false
	}
	f := v.FieldByName("RejectedItems")
	if f.Kind() != reflect.Int64 {
		return 0, false
	}
	return uint64(max(f.Int(), 0)), true
}

// throttleDelay returns how long the collector asked the client to wait
// before sending again: gRPC RetryInfo, or the OTLP/HTTP exporter's reading
// of Retry-After, kept in an unexported field of its retryable error (read
// by reflection; TestProviderWaitsAsLongAsTheCollectorAsks fails if a new
// exporter version changes it). Zero when it did not ask.
func throttleDelay(err error) time.Duration {
	if s, ok := status.FromError(err); ok {
		for _, d := range s.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				return max(ri.GetRetryDelay().AsDuration(), 0)
			}
		}
		return 0
	}
	var found time.Duration
	walkErrors(err, func(e error) bool {
		v := reflect.ValueOf(e)
		if fmt.Sprintf("%T", e) != "otlploghttp.retryableError" || v.Kind() != reflect.Struct {
			return false
		}
		if f := v.FieldByName("throttle"); f.Kind() == reflect.Int64 {
			found = max(time.Duration(f.Int()), 0)
		}
		return true
	})
	return found
}

// walkErrors calls visit on err and the errors it wraps, depth first, until
// visit returns true.
func walkErrors(err error, visit func(error) bool) bool {
	for err != nil {
		if visit(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walkErrors(e, visit) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}
