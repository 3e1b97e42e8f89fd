package audit_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/activitylog/activitylog/internal/logtest"
	"github.com/activitylog/activitylog/internal/safetext"
	"github.com/activitylog/activitylog/querysvc"
	"github.com/activitylog/activitylog/querysvc/audit"
	"github.com/activitylog/activitylog/schema"
)

// FuzzViewed: the principal's name and subject come from a token's claims and
// the id and parameters from the request, so any of them may hold anything.
// Whatever they hold, the audit record is emitted, its body has no character
// that could forge its layout and is valid UTF-8, and it keeps what was read:
// the valid parameters, the id and the status.
//
// testdata/fuzz/FuzzViewed holds the names that forged a second line and
// reversed the text of the description before they were escaped.
func FuzzViewed(f *testing.F) {
	f.Add("u-7", "Pat", "partner", "t-1", "/v1/activities", "", "q", "coffee", 200)
	f.Add("\xff", "P\xfeat", "admin", "", "/v1/analytics/trends", "\x00", "from", "2026-11-26T00:00:00Z", 400)
	f.Fuzz(func(t *testing.T, subject, name, role, tenant, endpoint, id, key, value string, status int) {
		lp, mem := logtest.NewProvider(t)
		a := audit.New(lp)
		p := querysvc.Principal{Subject: subject, Name: name, Role: querysvc.Role(role), Tenant: tenant}
		v := querysvc.View{Endpoint: endpoint, ID: id, Status: status % 1000}
		if key != "" {
			v.Params = map[string]string{key: value}
		}
		a.Viewed(context.Background(), p, v)

		recs := mem.Records()
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		body := recs[0].Body().AsString()
		if !utf8.ValidString(body) {
			t.Fatalf("got body %q, want valid UTF-8", body)
		}
		if i := strings.IndexFunc(body, safetext.ChangesLayout); i >= 0 {
			t.Fatalf("got body %q with %U at byte %d, want no control, line-break or bidi character", body, []rune(body[i:])[0], i)
		}
		got := logtest.Attributes(recs[0])
		if id != "" && utf8.ValidString(id) && got[schema.AttrSubjectID].AsString() != id {
			t.Fatalf("got subject id %q, want %q", got[schema.AttrSubjectID].AsString(), id)
		}
		if utf8.ValidString(key) && utf8.ValidString(value) && key != "" {
			var params []string
			for _, kv := range got[schema.AttrQueryParams].AsMap() {
				params = append(params, string(kv.Key)+"="+kv.Value.AsString())
			}
			if len(params) != 1 || params[0] != key+"="+value {
				t.Fatalf("got params %q, want [%s=%s]", params, key, value)
			}
		}
		if s := v.Status; s != 0 && got[schema.AttrQueryStatus].AsInt64() != int64(s) {
			t.Fatalf("got status %d, want %d", got[schema.AttrQueryStatus].AsInt64(), s)
		}
	})
}
