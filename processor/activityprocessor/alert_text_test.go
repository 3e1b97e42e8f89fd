package activityprocessor

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/schema"
)

// userNameAlert returns the one alert raised by five failed logins for the
// user name name, each from its own address, so that only the user name
// bursts.
func userNameAlert(t *testing.T, name string) plog.LogRecord {
	t.Helper()
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
	return alerts[0]
}

// TestAlertLongUserNameValidUTF8: a burst counted by user name is the name
// an attacker typed at the login form, and the detector keeps only its first
// burst.MaxKeyLen bytes. Cut inside a character, it made the alert's body
// and attributes invalid UTF-8, which its OTLP record cannot carry.
func TestAlertLongUserNameValidUTF8(t *testing.T) {
	alert := userNameAlert(t, strings.Repeat("a", 127)+"éééé")
	if body := alert.Body().Str(); !utf8.ValidString(body) {
		t.Errorf("got body %q, want valid UTF-8", body)
	}
	alert.Attributes().Range(func(k string, v pcommon.Value) bool {
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
		alert := userNameAlert(t, name)
		if body := alert.Body().Str(); strings.IndexFunc(body, safetext.ChangesLayout) >= 0 {
			t.Errorf("name %q: got body %q, want no control, line-break or bidi character", name, body)
		}
		if got := attrStr(alert, schema.AttrAlertKey); got != name {
			t.Errorf("name %q: got key %q, want the name as typed (only the description escapes it)", name, got)
		}
	}
}
