package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/activitylog/activitylog/querysvc"
)

// cursorVersion changes whenever the cursor layout does.
const cursorVersion = 1

// cursorClaims is what a cursor carries; the MAC covers all of it.
type cursorClaims struct {
	V       int               `json:"v"`
	Subject string            `json:"sub"`
	Role    querysvc.Role     `json:"role"`
	Tenant  string            `json:"tenant,omitempty"`
	Filter  string            `json:"filter"`
	Expires int64             `json:"exp"`
	Pos     querysvc.Position `json:"pos"`
}

// cursors signs and verifies search cursors.
type cursors struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// fingerprint identifies the filters and page size a cursor was issued for.
func fingerprint(p Params) string {
	b, _ := json.Marshal(struct {
		F querysvc.Filter
		L int
	}{p.Filter, p.Limit}) // a struct of strings and times always marshals
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (c cursors) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// issue returns a cursor for pos bound to the principal and the filters.
func (c cursors) issue(pr querysvc.Principal, p Params, pos querysvc.Position) (string, error) {
	b, err := json.Marshal(cursorClaims{
		V: cursorVersion, Subject: pr.Subject, Role: pr.Role, Tenant: pr.Tenant,
		Filter: fingerprint(p), Expires: c.now().Add(c.ttl).Unix(), Pos: pos,
	})
	if err != nil {
		return "", querysvc.Wrap(querysvc.CodeInternal, "encode cursor", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload)), nil
}

// open verifies a cursor and returns its position. A cursor that does not
// verify is 400; one issued to another principal is 403.
func (c cursors) open(pr querysvc.Principal, p Params, cursor string) (querysvc.Position, error) {
	bad := querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: is not a cursor this service issued")
	payload, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		return querysvc.Position{}, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(payload)) {
		return querysvc.Position{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return querysvc.Position{}, bad
	}
	var cl cursorClaims
	if err := json.Unmarshal(b, &cl); err != nil || cl.V != cursorVersion {
		return querysvc.Position{}, bad
	}
	switch {
	case cl.Subject != pr.Subject || cl.Role != pr.Role || cl.Tenant != pr.Tenant:
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeForbidden, "parameter cursor: was issued to another principal")
	case cl.Filter != fingerprint(p):
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: was issued for other filters or limit; repeat the original parameters")
	case c.now().Unix() > cl.Expires:
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: has expired; start the search again")
	}
	return cl.Pos, nil
}
