package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/activitylog/activitylog/schema"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gRPC and net/http wind connections down asynchronously.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		// database/sql's connection opener for the in-memory databases.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// receiver is a real OTLP/gRPC endpoint that keeps every log record.
type receiver struct {
	collogs.UnimplementedLogsServiceServer
	mu      sync.Mutex
	records []*logspb.LogRecord
	raw     bytes.Buffer
}

func (r *receiver) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := protojson.Marshal(req)
	r.raw.Write(b)
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			r.records = append(r.records, sl.GetLogRecords()...)
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

func startReceiver(t *testing.T) (*receiver, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rcv := &receiver{}
	collogs.RegisterLogsServiceServer(srv, rcv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return rcv, "http://" + l.Addr().String()
}

func attr(r *logspb.LogRecord, key string) *commonpb.AnyValue {
	for _, kv := range r.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return nil
}

// TestDemoTrafficRecordsEverythingAndNoSecrets runs the service and its
// traffic generator in-process against a real OTLP receiver.
func TestDemoTrafficRecordsEverythingAndNoSecrets(t *testing.T) {
	rcv, endpoint := startReceiver(t)
	const password = "demo-password-not-to-be-logged"
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "LOYALTY_DEMO_PASSWORD": password}
	var out bytes.Buffer
	err := run(context.Background(), []string{"loyalty", "-demo-traffic", "1", "-bcrypt-cost", "4"},
		func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatalf("got error %v, want nil; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "dropped=0 failed=0") {
		t.Errorf("got output %q, want no dropped or failed records", out.String())
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	events := map[string]int{}
	categories := map[string]bool{}
	actors := map[string]bool{}
	byCategory := map[[2]string]int{}
	withChanges := map[string]int{}
	for _, r := range rcv.records {
		events[attr(r, schema.AttrEvent).GetStringValue()]++
		if attr(r, schema.AttrChanges).GetKvlistValue() != nil {
			withChanges[attr(r, schema.AttrEvent).GetStringValue()]++
		}
		categories[attr(r, schema.AttrCategory).GetStringValue()] = true
		byCategory[[2]string{attr(r, schema.AttrCategory).GetStringValue(), attr(r, schema.AttrEvent).GetStringValue()}]++
		actors[attr(r, schema.AttrActorType).GetStringValue()] = true
		if r.GetEventName() != schema.EventName(attr(r, schema.AttrEvent).GetStringValue()) {
			t.Errorf("got event name %q for event %q", r.GetEventName(), attr(r, schema.AttrEvent).GetStringValue())
		}
		if r.GetBody().GetStringValue() == "" {
			t.Errorf("got a record without a description: %v", r)
		}
	}
	for _, e := range []string{schema.EventCreated, schema.EventUpdated, schema.EventDeleted, schema.EventLogin, schema.EventLogout,
		schema.EventOTPRequested, schema.EventOTPVerified, schema.EventOTPFailed, schema.EventPasswordChanged, schema.EventStampAdded,
		schema.EventTransactionRecorded, schema.EventTransactionRefunded, schema.EventRedemptionProcessed, schema.EventRedemptionCancelled} {
		if events[e] == 0 {
			t.Errorf("got no %s records, want some (all: %v)", e, events)
		}
	}
	// A transaction says what it was worth, a refund or a cancelled
	// redemption what it changed: the old and new values the README
	// promises for every action.
	for _, e := range []string{schema.EventTransactionRecorded, schema.EventTransactionRefunded, schema.EventRedemptionCancelled} {
		if withChanges[e] != events[e] {
			t.Errorf("got %d of %d %s records with changes, want all", withChanges[e], events[e], e)
		}
	}
	// Two tenants, each with a burst of failed logins plus one unknown user.
	if got, want := events[schema.EventLoginFailed], 2*(failedBurst+1); got != want {
		t.Errorf("got %d failed logins, want %d", got, want)
	}
	for _, c := range []string{schema.CategoryCards, schema.CategoryStampCards, schema.CategoryMembers, schema.CategoryStaff,
		schema.CategoryPartners, schema.CategoryRewards, schema.CategoryClubs, schema.CategoryNetworks,
		schema.CategoryTransactions, schema.CategoryRedemptions, schema.CategoryAuth} {
		if !categories[c] {
			t.Errorf("got no %s records, want some", c)
		}
	}
	// Every kind of thing the platform manages is created, changed and
	// removed, as the README promises every action is recorded.
	for _, c := range []string{schema.CategoryCards, schema.CategoryStampCards, schema.CategoryMembers,
		schema.CategoryRewards, schema.CategoryClubs, schema.CategoryNetworks} {
		for _, e := range []string{schema.EventCreated, schema.EventUpdated, schema.EventDeleted} {
			if byCategory[[2]string{c, e}] == 0 {
				t.Errorf("got no %s %s records, want some", c, e)
			}
		}
	}
	for _, a := range schema.ActorTypes() {
		if !actors[a] {
			t.Errorf("got no records by a %s, want some", a)
		}
	}
	// A password change is one password_changed record, not also an
	// update of the account (its hash changed) in another category.
	if got, want := byCategory[[2]string{schema.CategoryAuth, schema.EventPasswordChanged}], 2; got != want {
		t.Errorf("got %d password changes, want %d (one per tenant's new hire)", got, want)
	}
	if n := byCategory[[2]string{schema.CategoryStaff, schema.EventUpdated}]; n != 0 {
		t.Errorf("got %d updated staff records, want none: the only change to a staff account is the new hire's password", n)
	}
	// Credentials and redacted personal data never leave the service: the
	// password, the new hire's first and chosen passwords, card PINs, phone numbers, and the
	// accounts' bcrypt hashes (whose changes are recorded without values).
	raw := rcv.raw.String()
	for _, secret := range []string{password, "a-long-first-day-password", "a-long-password-of-my-own", "guess-0", `"4321"`, `"9876"`, "+1555010", "$2a$"} {
		if i := strings.Index(raw, secret); i >= 0 {
			t.Errorf("the exported records contain %q: ...%s...", secret, raw[max(0, i-300):min(len(raw), i+100)])
		}
	}
	if !strings.Contains(raw, `"redacted"`) {
		t.Error("got no redacted change, want the phone changes recorded as redacted")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"bad proxy", []string{"loyalty", "-trusted-proxies", "10.0.0.0/99"}, nil},
		{"bad cost", []string{"loyalty", "-bcrypt-cost", "99"}, nil},
		{"negative traffic", []string{"loyalty", "-demo-traffic", "-1"}, nil},
		{"stray argument", []string{"loyalty", "serve"}, nil},
		{"target without password", []string{"loyalty", "-demo-traffic", "1", "-target", "http://127.0.0.1:1"}, nil},
		{"bad protocol", []string{"loyalty", "-otlp-protocol", "carrier-pigeon"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out); err == nil {
				t.Errorf("got nil error, want one")
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"loyalty", "-h"}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	for _, want := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "LOYALTY_ADDR", "-demo-traffic"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
}

func TestCardPINIsNeverReturned(t *testing.T) {
	b, err := json.Marshal(&Card{ID: "c", Number: "6012", PIN: "4321"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "4321") {
		t.Errorf("got %s, want no PIN", b)
	}
}

// TestLogsEndpoint: the endpoint comes from the environment as the
// OpenTelemetry specification says: the logs variable as it is, the generic
// one with /v1/logs appended to its path over HTTP (the path was used as it
// was, so a collector behind a proxy at /otlp got the records at /otlp).
func TestLogsEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		protocol string
		want     string
	}{
		{"none", nil, "", ""},
		{"generic over gRPC", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, "", "http://collector:4317"},
		{"generic over HTTP", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "", "http://collector:4318/v1/logs"},
		{"generic with a base path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://gw.example/otlp/"}, "http/protobuf", "https://gw.example/otlp/v1/logs"},
		{"logs protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/otlp", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", "http://c:4318/otlp/v1/logs"},
		{"flag wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "grpc", "http://c:4317"},
		{"logs endpoint as it is", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://c:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"}, "http/protobuf", "http://c:4318/custom"},
		{"host:port, insecure", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, "grpc", "http://collector:4317"},
		{"host:port", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "grpc", "https://collector:4317"},
		{"logs host:port, insecure", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "collector:4318/v1/logs", "OTEL_EXPORTER_OTLP_LOGS_INSECURE": "true"}, "http/protobuf", "http://collector:4318/v1/logs"},
		{"malformed left to the provider", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1"}, "http/protobuf", "http://[::1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := logsEndpoint(func(k string) string { return tt.env[k] }, tt.protocol); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
