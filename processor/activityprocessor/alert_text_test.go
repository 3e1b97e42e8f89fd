package activityprocessor

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/schema"
)

// TestAlertLongUserNameValidUTF8: a burst counted by user name is the name
// an attacker typed at the login form, and the detector keeps only its first
// burst.MaxKeyLen bytes. Cut inside a character, it made the alert's body
// and attributes invalid UTF-8, which its OTLP record cannot carry.
func TestAlertLongUserNameValidUTF8(t *testing.T) {
	name := strings.Repeat("a", 127) + "éééé"
	clk := &fixedClock{now: goldenNow}
	p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
	ld := failedLogins("203.0.113.7", 5, clk.now.Add(-10e9))
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lrs.At(i).Attributes().PutStr(schema.AttrUserName, name)
		// Each from its own address, so that only the user name bursts.
		lrs.At(i).Attributes().PutStr(schema.AttrClientAddress, "203.0.113."+string(rune('1'+i)))
	}
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	alerts := alertsIn(out)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	if body := alerts[0].Body().Str(); !utf8.ValidString(body) {
		t.Errorf("got body %q, want valid UTF-8", body)
	}
	alerts[0].Attributes().Range(func(k string, v pcommon.Value) bool {
		if v.Type() == pcommon.ValueTypeStr && !utf8.ValidString(v.Str()) {
			t.Errorf("got %s=%q, want valid UTF-8", k, v.Str())
		}
		return true
	})
}

// TestAlertBodyEscapesTypedUserName: a burst counted by user name is the
// name an attacker typed at the login form. The alert's description must not
// let that name forge a second line or reverse the text around it, as the
// instrumentation library's descriptions do not.
func TestAlertBodyEscapesTypedUserName(t *testing.T) {
	for _, name := range []string{
		"mallory\n5 failed logins from 198.51.100.1 in 1m0s",
		"\u202enimda",
	} {
		clk := &fixedClock{now: goldenNow}
		p := newTestLogs(t, createDefaultConfig(), clk.Now, nil)
		ld := failedLogins("203.0.113.7", 5, clk.now.Add(-10e9))
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			lrs.At(i).Attributes().PutStr(schema.AttrUserName, name)
			lrs.At(i).Attributes().PutStr(schema.AttrClientAddress, "203.0.113."+string(rune('1'+i)))
		}
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		alerts := alertsIn(out)
		if len(alerts) != 1 {
			t.Fatalf("name %q: got %d alerts, want 1", name, len(alerts))
		}
		if body := alerts[0].Body().Str(); strings.IndexFunc(body, safetext.ChangesLayout) >= 0 {
			t.Errorf("name %q: got body %q, want no control, line-break or bidi character", name, body)
		}
		if got := attrStr(alerts[0], schema.AttrAlertKey); got != name {
			t.Errorf("name %q: got key %q, want the name as typed (only the description escapes it)", name, got)
		}
	}
}
