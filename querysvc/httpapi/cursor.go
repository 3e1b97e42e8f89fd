package httpapi

import (
	"container/list"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"github.com/activitylog/activitylog/querysvc"
)

// A cursor is sealed, not only signed: it reveals nothing of what it
// carries (the point in time, the sort values of the last record, the
// principal it is bound to) and cannot be altered. Its layout, in unpadded
// base64url:
//
//	version (1 byte) | salt (cursorSaltLen) | AES-256-GCM ciphertext and tag
//
// The AES key and the GCM nonce are derived with HKDF-SHA256 from the
// configured cursor key and the cursor's own random salt, so no key and nonce
// pair is ever used twice; version and salt are the additional data the tag
// covers.
const (
	// cursorVersion changes whenever the cursor layout does. Version 1
	// cursors (JSON claims and an HMAC, readable by anyone) no longer open.
	cursorVersion = 2
	cursorSaltLen = 32
	cursorHeader  = 1 + cursorSaltLen
	// cursorInfo separates these keys from any other HKDF use of the same
	// secret.
	cursorInfo = "activitylog querysvc cursor v2"
)

// cursorClaims is what a cursor carries, all of it sealed.
type cursorClaims struct {
	Subject string            `json:"sub"`
	Role    querysvc.Role     `json:"role"`
	Tenant  string            `json:"tenant,omitempty"`
	Filter  string            `json:"filter"`
	Expires int64             `json:"exp"`
	Pos     querysvc.Position `json:"pos"`
	// PITRef names the point in time kept by this service instance (see
	// pitStore) when it was too long to travel in the cursor; Pos.PIT is
	// then empty.
	PITRef string `json:"pit_ref,omitempty"`
}

// cursors seals and opens search cursors.
type cursors struct {
	// key is the configured cursor key, from which each cursor's own key is
	// derived (at least 32 bytes).
	key []byte
	ttl time.Duration
	now func() time.Time
	// random fills a new cursor's salt; nil means crypto/rand.Read.
	random func([]byte) (int, error)
	// pits keeps the points in time too long for a cursor; nil keeps every
	// one in its cursor.
	pits *pitStore
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

// aead returns the cipher and nonce of the cursor salted with salt.
func (c cursors) aead(salt []byte) (cipher.AEAD, []byte, error) {
	const keyLen, nonceLen = 32, 12 // AES-256, GCM's standard nonce
	k, err := hkdf.Key(sha256.New, c.key, salt, cursorInfo, keyLen+nonceLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(k[:keyLen])
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return gcm, k[keyLen:], nil
}

// issue returns a cursor for pos bound to the principal and the filters.
func (c cursors) issue(pr querysvc.Principal, p Params, pos querysvc.Position) (string, error) {
	expires := c.now().Add(c.ttl)
	ref := ""
	if c.pits != nil && len(pos.PIT) > maxInlinePIT {
		ref = c.pits.put(ownerOf(pr), pos.PIT, c.now(), expires)
		pos.PIT = ""
	}
	claims, err := json.Marshal(cursorClaims{
		Subject: pr.Subject, Role: pr.Role, Tenant: pr.Tenant,
		Filter: fingerprint(p), Expires: expires.Unix(), Pos: pos, PITRef: ref,
	})
	if err != nil {
		return "", querysvc.Wrap(querysvc.CodeInternal, "encode cursor", err)
	}
	random := c.random
	if random == nil {
		random = rand.Read
	}
	b := make([]byte, cursorHeader, cursorHeader+len(claims)+16)
	b[0] = cursorVersion
	if _, err := random(b[1:cursorHeader]); err != nil {
		return "", querysvc.Wrap(querysvc.CodeInternal, "cursor salt", err)
	}
	aead, nonce, err := c.aead(b[1:cursorHeader])
	if err != nil {
		return "", querysvc.Wrap(querysvc.CodeInternal, "cursor key", err)
	}
	b = aead.Seal(b, nonce, claims, b[:cursorHeader])
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// unseal returns the claims of a cursor this key sealed; false for any other
// string, a cursor of an earlier layout or one altered in any way.
func (c cursors) unseal(cursor string) (cursorClaims, bool) {
	if len(cursor) > maxCursorLen {
		return cursorClaims{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(b) < cursorHeader || b[0] != cursorVersion {
		return cursorClaims{}, false
	}
	aead, nonce, err := c.aead(b[1:cursorHeader])
	if err != nil || len(b) < cursorHeader+aead.Overhead() {
		return cursorClaims{}, false
	}
	plain, err := aead.Open(nil, nonce, b[cursorHeader:], b[:cursorHeader])
	if err != nil {
		return cursorClaims{}, false
	}
	var cl cursorClaims
	if err := json.Unmarshal(plain, &cl); err != nil {
		return cursorClaims{}, false
	}
	return cl, true
}

// open verifies a cursor and returns its position. A cursor that does not
// open is 400; one issued to another principal is 403.
func (c cursors) open(pr querysvc.Principal, p Params, cursor string) (querysvc.Position, error) {
	cl, ok := c.unseal(cursor)
	if !ok {
		// Also what a cursor of the previous layout, or one sealed under
		// another key (before a restart with the default random key, or
		// by a replica configured with another), gets: the client can only
		// start again.
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid,
			"parameter cursor: is expired or not valid (only a next_cursor this service returned, unaltered, is); start the search again")
	}
	switch {
	case cl.Subject != pr.Subject || cl.Role != pr.Role || cl.Tenant != pr.Tenant:
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeForbidden, "parameter cursor: was issued to another principal")
	case cl.Filter != fingerprint(p):
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: was issued for other filters or limit; repeat the original parameters")
	case c.now().Unix() > cl.Expires:
		return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: has expired; start the search again")
	}
	if cl.PITRef != "" {
		if c.pits == nil {
			return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid, "parameter cursor: has expired; start the search again")
		}
		pit, ok := c.pits.get(cl.PITRef, c.now())
		if !ok {
			return querysvc.Position{}, querysvc.Errorf(querysvc.CodeInvalid,
				"parameter cursor: has expired; start the search again (its point in time is kept by the instance of this service that issued it, which no longer holds it)")
		}
		cl.Pos.PIT = pit
	}
	return cl.Pos, nil
}

// A point in time's id grows by about 216 characters per shard it spans,
// and a data stream rolls over daily and keeps a year: the id of a search
// over a year of records is some 80 KB, far more than a URL takes. Ids
// longer than maxInlinePIT stay in the service instance that opened them
// (pitStore), and the cursor names them by a random reference; ids that fit
// (up to about nine shards) travel in the cursor, which any instance can
// then serve.
const (
	maxInlinePIT = 2 << 10
	// maxPITBytes bounds the ids kept: at 80 KB an id, some 800 walks at
	// once; those least recently paged are forgotten first (their cursors
	// then answer "expired").
	maxPITBytes = 64 << 20
)

// pitStore keeps points in time too long for a cursor, each until its
// cursor expires, within maxPITBytes, and at most perOwner of each
// principal's: beyond that a principal's new walk forgets its own least
// recently paged one, not another principal's. (Without that bound, one
// partner starting walks at the rate limit filled the budget within
// minutes, and every other principal's walk answered "cursor has expired".)
// The pages of one walk share one entry while Elasticsearch returns the
// same id.
type pitStore struct {
	mu       sync.Mutex
	max      int
	perOwner int
	bytes    int
	byRef    map[string]*pitEntry
	byPIT    map[string]*pitEntry
	owned    map[string]int // entries per owner
	// order holds the entries least recently put first. Every put sets an
	// entry's expiry to now plus the cursor TTL, so this is also the order
	// of expiry: the expired are at the front, and a walk still paging is
	// forgotten after those that ended.
	order  list.List
	random func([]byte) (int, error)
}

type pitEntry struct {
	owner, ref, pit string
	expires         time.Time
	elem            *list.Element
}

// newPITStore returns a pitStore of max bytes holding at most perOwner
// entries of one principal (0: no such bound).
func newPITStore(max, perOwner int) *pitStore {
	return &pitStore{max: max, perOwner: perOwner, byRef: map[string]*pitEntry{}, byPIT: map[string]*pitEntry{},
		owned: map[string]int{}, random: rand.Read}
}

// ownerOf names a principal as the rate limit does.
func ownerOf(pr querysvc.Principal) string {
	return string(pr.Role) + "\x00" + pr.Tenant + "\x00" + pr.Subject
}

// put keeps owner's pit until expires at least and returns its reference.
// Entries expired by now are forgotten, then owner's least recently put
// while it holds perOwner, then the least recently put while a new id does
// not fit the budget.
func (s *pitStore) put(owner, pit string, now, expires time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The next page of a walk: its id is held already and adds no bytes.
	if e, ok := s.byPIT[pit]; ok {
		e.expires = maxT(e.expires, expires)
		s.order.MoveToBack(e.elem)
		s.forget(func(front *pitEntry) bool { return now.After(front.expires) })
		return e.ref
	}
	s.forget(func(front *pitEntry) bool { return now.After(front.expires) })
	if s.perOwner > 0 && s.owned[owner] >= s.perOwner {
		for el := s.order.Front(); el != nil; el = el.Next() {
			if e := el.Value.(*pitEntry); e.owner == owner {
				s.remove(e)
				break
			}
		}
	}
	s.forget(func(*pitEntry) bool { return s.bytes+len(pit) > s.max })
	var b [16]byte
	_, _ = s.random(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	e := &pitEntry{owner: owner, ref: base64.RawURLEncoding.EncodeToString(b[:]), pit: pit, expires: expires}
	e.elem = s.order.PushBack(e)
	s.byRef[e.ref], s.byPIT[pit] = e, e
	s.bytes += len(pit)
	s.owned[owner]++
	return e.ref
}

// forget drops the front entry while drop says so.
func (s *pitStore) forget(drop func(front *pitEntry) bool) {
	for f := s.order.Front(); f != nil && drop(f.Value.(*pitEntry)); f = s.order.Front() {
		s.remove(f.Value.(*pitEntry))
	}
}

// remove drops e.
func (s *pitStore) remove(e *pitEntry) {
	s.order.Remove(e.elem)
	delete(s.byRef, e.ref)
	delete(s.byPIT, e.pit)
	s.bytes -= len(e.pit)
	if s.owned[e.owner]--; s.owned[e.owner] <= 0 {
		delete(s.owned, e.owner)
	}
}

// get returns the point in time named by ref, unless it expired or was
// forgotten.
func (s *pitStore) get(ref string, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byRef[ref]
	if !ok || now.After(e.expires) {
		return "", false
	}
	return e.pit, true
}
