package activityprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/activitylog/activitylog/schema"
)

// processAttrs runs one record with attributes attrs (and tenant acme)
// through p and returns its attributes.
func processAttrs(t *testing.T, p *activityProcessor, attrs map[string]any) pcommon.Map {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(schema.AttrServiceName, "partners")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(goldenNow))
	a := lr.Attributes()
	a.PutStr(schema.AttrEvent, "partner_updated")
	a.PutStr(schema.AttrTenantID, "acme")
	for k, v := range attrs {
		if err := a.PutEmpty(k).FromRaw(v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	return out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
}

// checkKeys fails unless every key of keep comes out as it went in and
// every key of secret does not.
func checkKeys(t *testing.T, got pcommon.Map, keep, secret map[string]any) {
	t.Helper()
	for k, want := range keep {
		if v, _ := got.Get(k); v.AsRaw() != want {
			t.Errorf("%s: got %v, want %v kept (no credential)", k, v.AsRaw(), want)
		}
	}
	for k, plain := range secret {
		if v, _ := got.Get(k); v.AsRaw() == plain {
			t.Errorf("%s: got %v, want it redacted (a credential)", k, v.AsRaw())
		}
	}
}

// TestDefaultKeyPatternsMatchWords: the default key patterns were matched
// as substrings of the folded key, so a short pattern matched inside
// unrelated words and destroyed audit data ("ssn" in businessName, "otp" in
// jackpot_prize, whose every integer was then taken for a one-time code),
// while common names of credentials that held no pattern ("pin",
// "security_code", "two_factor_code") were stored in clear. Short patterns
// now match whole words (or their plural), as the instrumentation library
// matches them; "cvv", "pwd", "iban" and "jwt", in no ordinary word, still
// match anywhere. A "pass" is a wallet pass on a loyalty platform: data.
func TestDefaultKeyPatternsMatchWords(t *testing.T) {
	p := newTestLogs(t, createDefaultConfig(), (&fixedClock{now: goldenNow}).Now, nil)
	keep := map[string]any{
		"businessName":  "Acme Coffee",
		"className":     "Gold",
		"accessNumber":  "A-1001",
		"jackpot_prize": int64(5000),
		"slot_position": int64(3),
		"lot_price":     int64(1250),
		"depot_phone":   "+44 20 7946 0000",
		"spinner_color": "red",
		"shipping_fee":  int64(4),
		"pass":          "gold-2026",
		"walletPassId":  "wp-42",
	}
	secret := map[string]any{
		"pin":               "4931",
		"cardPIN":           "4931",
		"pins":              "4931 1234",
		"security_code":     "123",
		"two_factor_code":   "493817",
		"2fa_code":          "493817",
		"otpCode":           "493817",
		"userOTPs":          int64(493817),
		"totp":              "493817",
		"customerSSN":       "078-05-1120",
		"ssn_last4":         "1120",
		"payeeIBAN":         "GB82WEST12345698765432",
		"cardcvv":           "123",
		"dbpwd":             "hunter22",
		"sessionJwt":        "abc.def.ghi",
		"recovery_codes":    "a1b2c3d4 e5f6a7b8",
		"backupCode":        "a1b2c3d4",
		"mfa_security_code": "1234",
	}
	got := processAttrs(t, p, mergeAttrs(keep, secret))
	checkKeys(t, got, keep, secret)

	// A changed business name is recorded with its values.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(goldenNow))
	lr.Attributes().PutStr(schema.AttrTenantID, "acme")
	ch := lr.Attributes().PutEmptyMap(schema.AttrChanges).PutEmptyMap("business_name")
	ch.PutStr("old", "Acme Coffee")
	ch.PutStr("new", "Acme Coffee & Tea")
	out, err := p.processLogs(context.Background(), ld)
	if err != nil {
		t.Fatal(err)
	}
	chv, _ := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(schema.AttrChanges)
	if bn, _ := chv.Map().Get("business_name"); bn.Map().Len() != 2 {
		t.Errorf("activity.changes.business_name: got %v, want old and new kept", bn.AsRaw())
	}
}

func mergeAttrs(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
