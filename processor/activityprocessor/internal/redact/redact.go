package redact

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"golang.org/x/text/unicode/norm"

	"github.com/activitylog/activitylog/schema"
)

// Action is what a rule does to a value it matched.
type Action uint8

// Actions.
const (
	// ActionMask replaces the secret by Mask.
	ActionMask Action = iota + 1
	// ActionHash replaces the secret by "hmac:" and the hex of the first 16
	// bytes of its HMAC-SHA256 under the configured key, so equal secrets
	// stay correlatable without being reversible.
	ActionHash
	// ActionDrop removes the whole value (the attribute or map entry).
	ActionDrop
)

// Mask replaces a masked secret.
const Mask = "[REDACTED]"

// hashPrefix starts every keyed hash.
const hashPrefix = "hmac:"

// hashBytes is how much of the HMAC is kept: 128 bits, plenty to correlate.
const hashBytes = 16

// ParseAction parses "mask", "hash" or "drop".
func ParseAction(s string) (Action, error) {
	switch s {
	case "mask":
		return ActionMask, nil
	case "hash":
		return ActionHash, nil
	case "drop":
		return ActionDrop, nil
	}
	return 0, fmt.Errorf("action %q is not one of mask, hash, drop: %w", s, ErrUnknownAction)
}

// String returns the action's configuration name.
func (a Action) String() string {
	switch a {
	case ActionMask:
		return "mask"
	case ActionHash:
		return "hash"
	case ActionDrop:
		return "drop"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Rule names what caused a redaction.
type Rule uint8

// Rules: the key rule, one per value detector, and the fail-closed rules.
const (
	RuleKey Rule = iota
	RuleJWT
	RuleBearer
	RuleBasic
	RuleAPIKey
	RulePrivateKey
	RuleCard
	RuleURLCredentials
	// RuleKeyValue redacted the value of a name=value pair inside a string
	// whose name matches a key pattern.
	RuleKeyValue
	RuleOTP
	// RuleUninspectable replaced a value the walker cannot inspect (bytes).
	RuleUninspectable
	// RuleTooDeep replaced a map or slice nested deeper than the maximum depth.
	RuleTooDeep
	// RuleTooLong removed a map entry whose key makes a path Elasticsearch
	// cannot index in a flattened field (see maxFlattenedPath).
	RuleTooLong
	// NumRules is the number of rules.
	NumRules
)

// String returns the rule's name, used in configuration and telemetry.
func (r Rule) String() string {
	switch r {
	case RuleKey:
		return "key"
	case RuleJWT:
		return "jwt"
	case RuleBearer:
		return "bearer"
	case RuleBasic:
		return "basic_auth"
	case RuleAPIKey:
		return "api_key"
	case RulePrivateKey:
		return "private_key"
	case RuleCard:
		return "card_number"
	case RuleURLCredentials:
		return "url_credentials"
	case RuleKeyValue:
		return "key_value"
	case RuleOTP:
		return "otp"
	case RuleUninspectable:
		return "uninspectable"
	case RuleTooDeep:
		return "too_deep"
	case RuleTooLong:
		return "too_long"
	}
	return "rule(" + strconv.Itoa(int(r)) + ")"
}

// Detectors returns the value detectors, in the order they run.
func Detectors() []Rule {
	return []Rule{RulePrivateKey, RuleJWT, RuleBearer, RuleBasic, RuleAPIKey, RuleURLCredentials, RuleKeyValue, RuleCard, RuleOTP}
}

// ParseDetector returns the detector rule named name.
func ParseDetector(name string) (Rule, error) {
	for _, r := range Detectors() {
		if r.String() == name {
			return r, nil
		}
	}
	names := make([]string, 0, len(Detectors()))
	for _, r := range Detectors() {
		names = append(names, r.String())
	}
	return 0, fmt.Errorf("detector %q is not one of %s: %w", name, strings.Join(names, ", "), ErrUnknownDetector)
}

// Sentinel errors returned (wrapped) by New and the parsers.
var (
	ErrUnknownAction   = errors.New("unknown action")
	ErrUnknownDetector = errors.New("unknown detector")
	ErrEmptyPattern    = errors.New("key pattern has no letters or digits")
	ErrNoHashKey       = errors.New("hash action configured without a hash key")
	ErrBadDepth        = errors.New("max depth out of range")
)

// minHashKeyLen is the shortest HMAC key accepted: 128 bits.
const minHashKeyLen = 16

// Config configures a Redactor.
type Config struct {
	// KeyPatterns are matched against every map key, after removing
	// everything but ASCII letters and digits and lowercasing, as substrings:
	// "password" matches "newPassword" and "db.password_hash". A pattern
	// of fewer than five letters and digits matches only whole words of
	// the key (see wordAt), or their plural: "pin" matches "cardPIN" and
	// "pins" but not "shipping", "ssn" not "businessName"; "cvv", "cvc",
	// "pwd", "jwt" and "iban", in no ordinary word, match anywhere. A key
	// with non-ASCII characters is read in its compatibility form (NFKC)
	// first, so "ｐａｓｓｗｏｒｄ" matches too.
	KeyPatterns []string
	// KeyAction is applied to the whole value of a key that matches.
	KeyAction Action
	// OTPKeyPatterns mark keys (matched like KeyPatterns) whose values are
	// one-time codes when they look like one.
	OTPKeyPatterns []string
	// Detectors maps each enabled value detector to its action.
	Detectors map[Rule]Action
	// HashKey is the HMAC key; required when any action is ActionHash.
	HashKey []byte
	// MaxDepth is the deepest nesting of maps and slices let through; a
	// deeper container is replaced by Mask. Zero means schema.MaxChangesDepth.
	MaxDepth int
	// ExemptKeys are top-level record attribute keys that the key patterns
	// never match, so the record's structure (ids, category, event...) is
	// never removed. Value detectors still apply to them.
	ExemptKeys []string
	// Hooked selects top-level record attribute keys whose entries are
	// handed, after redaction, to Report.Hook (the processor's type checks)
	// by returning a non-zero tag for them. It is called once per distinct
	// key per batch; the tag is cached with the key and handed to the hook
	// with every entry, so the hook need not classify the key again. A tag
	// with the HookContainers bit is handed over only with values that are
	// maps or lists holding a map or a list, one with the HookNonMaps bit
	// only with values that are not maps. Nil hooks nothing.
	Hooked func(key string) (tag uint8)
}

type detector struct {
	rule   Rule
	action Action
	find   finder
	// need is the candidates bit that selects it: its rule's, or candFlag
	// for the flag finder, which shares the key_value rule.
	need uint32
}

// HookContainers is the bit of a Config.Hooked tag that hands the key's
// entries to Report.Hook only when their value, after redaction, is a
// container: a map, or a list holding a map or a list. For a key that
// accepts any string, number or bool, and any list of them (a keyword
// field), it saves a call per value; the walk has just read the list's
// items, so telling is a loop over their types.
const HookContainers uint8 = 0x80

// HookNonMaps is the bit of a Config.Hooked tag that hands the key's
// entries to Report.Hook only when their value, after redaction, is not a
// map: for a key that accepts any map it saves a call per value. The tag
// bits leave Hooked 64 distinct tags.
const HookNonMaps uint8 = 0x40

// Redactor redacts log data in place. It is immutable after New and safe
// for concurrent use.
type Redactor struct {
	keyPats   [256][]keyPattern
	otpPats   [256][]keyPattern
	hasOTP    bool
	otpAction Action
	detectors []detector
	keyAction Action
	hashKey   []byte
	maxDepth  int
	exempt    map[string]struct{}
	hooked    func(string) uint8
	apiKeys   [256][]apiKeyPrefix
	// apiKeyEnds indexes the prefixes by separator and the byte before it.
	apiKeyEnds [len(apiSeparators)][256][]apiKeyEnd
	cardOn     bool
	cardAct    Action
	// byteClass is the candidates pre-filter's byte class table.
	byteClass [256]uint32
	// seed and seed64 key the clean cache's hashes.
	seed   maphash.Seed
	seed64 uint64
	// caches holds cleared batch caches for the next batches' Reports: a
	// bounded free list rather than a sync.Pool, which drops what it holds
	// after two collections and would then allocate and clear a new
	// 200 KB cache for a batch (the collector's memory_limiter forces
	// collections exactly when memory is short).
	caches chan *batchCache
}

// maxFreeCaches bounds the batch caches kept between batches: about one per
// batch processed at once.
func maxFreeCaches() int { return max(2, runtime.GOMAXPROCS(0)) }

// New returns a Redactor for cfg, or an error naming the first problem.
func New(cfg Config) (*Redactor, error) {
	r := &Redactor{keyAction: cfg.KeyAction, maxDepth: cfg.MaxDepth, hashKey: bytes.Clone(cfg.HashKey),
		exempt: make(map[string]struct{}, len(cfg.ExemptKeys)), apiKeys: apiKeyPrefixes(),
		caches: make(chan *batchCache, maxFreeCaches())}
	r.apiKeyEnds = apiKeyEndTable(&r.apiKeys)
	r.byteClass = byteClassTable(&r.apiKeyEnds)
	r.hooked = cfg.Hooked
	r.seed = maphash.MakeSeed()
	r.seed64 = maphash.String(r.seed, "clean cache")
	if r.keyAction == 0 {
		r.keyAction = ActionMask
	}
	if r.maxDepth == 0 {
		r.maxDepth = schema.MaxChangesDepth
	}
	if r.maxDepth < 1 || r.maxDepth > schema.MaxChangesDepth {
		return nil, fmt.Errorf("max depth %d is not between 1 and %d: %w", r.maxDepth, schema.MaxChangesDepth, ErrBadDepth)
	}
	if err := addPatterns(&r.keyPats, cfg.KeyPatterns); err != nil {
		return nil, err
	}
	if err := addPatterns(&r.otpPats, cfg.OTPKeyPatterns); err != nil {
		return nil, err
	}
	for _, k := range cfg.ExemptKeys {
		r.exempt[k] = struct{}{}
	}
	usesHash := r.keyAction == ActionHash
	for _, rule := range Detectors() {
		a, ok := cfg.Detectors[rule]
		if !ok {
			continue
		}
		if a < ActionMask || a > ActionDrop {
			return nil, fmt.Errorf("detector %s: %w", rule, ErrUnknownAction)
		}
		usesHash = usesHash || a == ActionHash
		switch rule {
		case RuleOTP:
			r.hasOTP, r.otpAction = len(cfg.OTPKeyPatterns) > 0, a
			continue
		case RuleCard:
			r.cardOn, r.cardAct = true, a
		}
		r.detectors = append(r.detectors, detector{rule: rule, action: a, find: r.finderFor(rule), need: ruleBit(rule)})
		if rule == RuleKeyValue {
			r.detectors = append(r.detectors, detector{rule: rule, action: a, find: r.findFlagValue, need: candFlag})
		}
	}
	if usesHash && len(r.hashKey) < minHashKeyLen {
		return nil, fmt.Errorf("hash key has %d bytes, at least %d are needed: %w", len(r.hashKey), minHashKeyLen, ErrNoHashKey)
	}
	return r, nil
}

func (r *Redactor) finderFor(rule Rule) finder {
	switch rule {
	case RuleJWT:
		return findJWT
	case RuleBearer:
		return findBearer
	case RuleBasic:
		return findBasic
	case RuleAPIKey:
		return r.findAPIKey
	case RulePrivateKey:
		return findPEM
	case RuleURLCredentials:
		return findURLCredentials
	case RuleKeyValue:
		return r.findKeyValue
	case RuleCard:
		return findCard
	}
	panic("redact: no finder for " + rule.String()) // unreachable: Detectors lists only rules handled above
}

// keyPattern is a normalized key pattern (see normalize).
type keyPattern struct {
	p []byte
	// word is set for a short pattern, which matches only whole words of
	// a key (see wordAt); edge for one that also matches at one end of a
	// word (see matchesAtEdge).
	word, edge bool
}

// minAnywhereLen is the length of the shortest pattern matched anywhere in
// a key, as the instrumentation library matches its secret names: a
// shorter one occurs inside ordinary words ("ssn" in businessName and
// className, "otp" in jackpot and depot, "pin" in shipping), and a key
// matched so lost its audit data (a renamed business, every integer under
// an OTP-like key).
const minAnywhereLen = 5

// matchesAnywhere reports whether a short normalized pattern is matched
// anywhere all the same: these occur in no ordinary word, and a card's
// verification value glued to another word ("cardcvv", "dbpwd") is common.
func matchesAnywhere(n []byte) bool {
	switch string(n) {
	case "cvv", "cvc", "pwd", "jwt", "iban":
		return true
	}
	return false
}

// matchesAtEdge reports whether a short normalized pattern matched only as
// whole words also matches at the start or the end of a word: keys written
// in lowercase glue it to another word ("sendotp", "smsotp", "otpvalue",
// "customerssn"), and no ordinary word starts or ends with these. Not pin:
// "spin", "hairpin", "pinned", "pinball".
func matchesAtEdge(n []byte) bool {
	switch string(n) {
	case "otp", "ssn":
		return true
	}
	return false
}

func addPatterns(t *[256][]keyPattern, pats []string) error {
	for _, p := range pats {
		var buf [128]byte
		n, _ := normalize(&buf, p)
		if len(n) == 0 {
			return fmt.Errorf("pattern %q: %w", p, ErrEmptyPattern)
		}
		word := len(n) < minAnywhereLen && !matchesAnywhere(n)
		t[n[0]] = append(t[n[0]], keyPattern{p: bytes.Clone(n), word: word, edge: word && matchesAtEdge(n)})
	}
	return nil
}

// normalize lowercases the ASCII letters of k and drops everything that is
// not a letter or digit. A key with a non-ASCII byte is read in its
// compatibility form (NFKC) first, so that full-width letters ("ｐａｓｓｗｏｒｄ",
// as a Japanese IME types them), mathematical and circled letters and
// ligatures count as the ASCII letters they stand for; ASCII keys skip that.
// Keys longer than buf are normalized on the heap. folded is the string
// whose letters and digits out holds: k, or its compatibility form.
func normalize(buf *[128]byte, k string) (out []byte, folded string) {
	out, ascii := appendFolded(buf[:0], k)
	if !ascii {
		k = norm.NFKC.String(k)
		out, _ = appendFolded(buf[:0], k)
	}
	return out, k
}

// appendFolded appends the ASCII letters, lowercased, and digits of k to
// out, and reports whether k is all ASCII.
func appendFolded(out []byte, k string) ([]byte, bool) {
	var high byte
	for i := 0; i < len(k); i++ {
		c := k[i]
		high |= c
		switch {
		case c >= 'A' && c <= 'Z':
			out = append(out, c|0x20)
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			out = append(out, c)
		}
	}
	return out, high < utf8.RuneSelf
}

// matchNormalized reports whether a pattern of t matches n, the
// normalized form of folded.
func matchNormalized(t *[256][]keyPattern, n []byte, folded string) bool {
	for i := range n {
		for _, p := range t[n[i]] {
			if bytes.HasPrefix(n[i:], p.p) && (!p.word || wordAt(folded, n, i, len(p.p), p.edge)) {
				return true
			}
		}
	}
	return false
}

// wordAt reports whether n[i:i+m], in the normalized form n of key k, is
// one or more whole words of k, or such words and a plural's 's' ("pins",
// "userOTPs"). Words are split as the instrumentation library splits
// them: at every byte that is not a letter or digit, where a lowercase
// letter is followed by a capital ("cardPin"), before the last capital of
// a run followed by lowercase ("OTPCode", but not "OTPs"), and between
// letters and digits ("ssn4"); also after a percent-encoded byte
// ("user%5Bpin%5D"). With edge, n[i:i+m] need only start a word or end
// one ("sendotp", "otpvalue").
func wordAt(k string, n []byte, i, m int, edge bool) bool {
	starts := startsWord(k, i)
	if !starts && !edge {
		return false
	}
	end := i + m
	ends := end == len(n) || startsWord(k, end) || n[end] == 's' && (end+1 == len(n) || startsWord(k, end+1))
	return starts && ends || edge && (starts || ends)
}

// startsWord reports whether a word of k starts at its x-th letter or
// digit (see wordAt); past the last one, it does.
func startsWord(k string, x int) bool {
	for j := 0; j < len(k); j++ {
		if !isAlnum(k[j]) {
			continue
		}
		if x == 0 {
			return wordBreak(k, j)
		}
		x--
	}
	return true
}

// wordBreak reports whether a word starts at the letter or digit k[j].
func wordBreak(k string, j int) bool {
	if j == 0 {
		return true
	}
	p, c := k[j-1], k[j]
	switch {
	case !isAlnum(p), isDigit(c) != isDigit(p):
		return true
	case j >= 3 && k[j-3] == '%' && isHexDigit(p) && isHexDigit(k[j-2]):
		return true
	case isUpper(c) && isLower(p):
		return true
	case isUpper(c) && isUpper(p) && j+1 < len(k) && isLower(k[j+1]):
		// OTPCode: the last capital of a run starts the next word, but
		// not a plural's (OTPs).
		return k[j+1] != 's' || j+2 < len(k) && isLower(k[j+2])
	}
	return false
}

func isUpper(c byte) bool    { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isHexDigit(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// classify normalizes k once and reports whether it matches a key pattern
// and whether it matches an OTP key pattern.
func (r *Redactor) classify(k string) (key, otp bool) {
	var buf [128]byte
	n, folded := normalize(&buf, k)
	return r.classifyNormalized(n, folded)
}

// classifyNormalized is classify for the normalized form n of folded (see
// normalize).
func (r *Redactor) classifyNormalized(n []byte, folded string) (key, otp bool) {
	if matchNormalized(&r.keyPats, n, folded) {
		return true, false
	}
	return false, r.hasOTP && matchNormalized(&r.otpPats, n, folded)
}

// classifyPair is classify for the name of a pair inside a string, where
// the query parameters that sign a presigned URL are credentials too:
// anyone holding the URL reads the object until it expires.
func (r *Redactor) classifyPair(name string) (key, otp bool) {
	var buf [128]byte
	n, folded := normalize(&buf, name)
	if isSignatureParam(n) {
		return true, false
	}
	return r.classifyNormalized(n, folded)
}

// isSignatureParam reports whether n, a normalized pair name, is a
// presigned URL's signature: S3's X-Amz-Signature, Google Cloud Storage's
// X-Goog-Signature, CloudFront's Signature, an Azure SAS's sig.
func isSignatureParam(n []byte) bool {
	switch string(n) {
	case "xamzsignature", "xgoogsignature", "signature", "sig":
		return true
	}
	return false
}

// Report accumulates what a walk redacted: counts by rule and the redacted
// paths (names only). Reuse one with Reset to avoid allocation.
//
// A Report also remembers, in a small set-associative cache, strings in which
// the detectors found nothing, so a value repeated across a batch (a user
// agent, a tenant name) is scanned once. Reset keeps that cache: use one
// Report per batch.
type Report struct {
	// Counts holds how many values each rule redacted.
	Counts [NumRules]int
	// Duplicates counts the map entries removed because an earlier entry
	// of the same map has the same key (see Redactor.Attributes).
	Duplicates int
	// Hook, when set, receives every top-level record attribute selected by
	// Config.Hooked (see Hooker).
	Hook  Hooker
	paths []string
	cache *batchCache
	owner *Redactor // the Redactor whose free list the cache came from
	w     walker
	// texts and bodies are the last strings Text and Body found clean.
	texts, bodies recent
	// seen finds repeated keys in maps too large for a pairwise check.
	seen map[string]struct{}
}

// A Hooker receives, through Report.Hook, every top-level record attribute
// selected by Config.Hooked, with the tag Hooked returned for its key, after
// its value was redacted. Hook may change the value in place (not add or
// remove other keys) and returns true to remove it. An interface rather
// than a function value: a method of the caller's own state is then called
// directly, where a closure over that state made two calls per attribute.
type Hooker interface {
	Hook(key string, tag uint8, v pcommon.Value) (remove bool)
}

// HookFunc is a function used as a Hooker.
type HookFunc func(key string, tag uint8, v pcommon.Value) (remove bool)

// Hook calls f.
func (f HookFunc) Hook(key string, tag uint8, v pcommon.Value) bool { return f(key, tag, v) }

// recent holds the last few clean strings, replaced in turn.
type recent struct {
	s    [4]string
	next uint8
}

// has reports whether s is one of them, compared in full.
func (r *recent) has(s string) bool {
	for _, m := range r.s {
		if same(m, s) {
			return true
		}
	}
	return false
}

// add remembers the clean string s in place of the oldest.
func (r *recent) add(s string) {
	r.s[int(r.next)%len(r.s)] = s
	r.next++
}

// batchCache remembers, for one batch, strings in which the detectors found
// nothing and what each key is (exempt, matching a pattern, OTP-like). Both
// tables are two-way set associative: a collision only costs a
// recomputation, never a wrong answer.
type batchCache struct {
	// clean holds clean strings longer than 16 bytes; short holds those of
	// 8 to 16 bytes as their two (overlapping) 8-byte words, so that a hit
	// compares every byte without reading the string from the record that
	// put it there, which is no longer in the processor cache. Both are
	// two-way set associative (see cleanSet): a batch's hot values no
	// longer evict each other when they hash alike, which with a
	// direct-mapped table happened for some seeds and not others.
	clean [cleanSets]cleanSet
	short [cleanSets]shortSet
	keys  [keySlots]keyEntry
	// shape remembers, by position, the entries of the last top-level map's
	// keys: records of one batch mostly have the same keys in the same
	// order, so the entry at the same position is tried before hashing.
	// fields does the same for the field names of activity.changes.
	shape, fields [shapeLen]*keyEntry
	// items holds, for a top-level list at each position, the last clean
	// string at each of its first positions. Like every memo it only ever
	// holds clean strings, whatever list they came from.
	items [shapeLen][itemMemos]string
	// stamp numbers the walks of top-level maps: a key entry whose mark is
	// the current stamp already occurred in the map being walked (see
	// walker.lostMark).
	stamp uint32
	// fieldStamp and lostField do the same for the field names of
	// activity.changes, with keyEntry.fieldMark.
	fieldStamp uint32
	lostField  bool
}

// A clean-cache set holds two clean strings, the one stored last in way 0.
// Each way has a state: empty, cold (stored, not yet found again), hot
// (found again since it was stored) or costly (the detectors had to read
// it: the pre-filter let it through, as a user agent's digits pass for a
// card number's, a scan that costs thousands of instructions where the
// pre-filter alone costs a hundred or two). A new string replaces the way
// of lowest state, cold before hot before costly, the older of two alike
// (way 1, after way 0 moved there); a costly one is only replaced by
// another costly one. So the values unique to each record (ids, titles),
// which pass through the cache, replace each other rather than a value
// that has shown it repeats.
type cleanSet struct {
	s [2]string
	// tag holds other bits of each way's hash, compared before the
	// string: most misses then cost no call to the runtime's compare.
	tag   [2]uint32
	state [2]uint8
}

// shortSet is cleanSet for strings of 8 to 16 bytes.
type shortSet [2]shortEntry

// shortEntry is a clean string of 8 to 16 bytes: its first and last 8
// bytes, its length (0 in an empty way) and its state.
type shortEntry struct {
	a, b  uint64
	n     uint8
	state uint8
}

// States of a clean-cache way (see cleanSet), ordered: a newcomer replaces
// the way of lowest state. A hit sets wayHot's bits, which keeps a costly
// way costly.
const (
	wayCold   uint8 = 1
	wayHot    uint8 = 3
	wayCostly uint8 = 5
)

type keyEntry struct {
	k       string
	verdict [2]uint8 // [nested, top]; 0 means unknown
	tag     uint8    // Config.Hooked's tag, for a top-level key
	mark    uint32   // batchCache.stamp of the last top-level walk that met k
	// fieldMark is batchCache.fieldStamp of the last walk of
	// activity.changes that met k as a field name.
	fieldMark uint32
	// clean is the last string value under k in which the detectors found
	// nothing: a key's value often repeats from record to record, and one
	// comparison beats a lookup in the clean cache. For a field of
	// activity.changes, clean and cleanNew hold those of its old and new
	// values. Whatever key they are stored under, they only ever hold
	// clean strings.
	clean, cleanNew string
}

// Key verdict bits.
const (
	verdictKnown  uint8 = 1 << iota
	verdictExempt       // top-level structural key
	verdictKey          // matches a key pattern
	verdictOTP          // matches an OTP key pattern
)

// cleanSets and keySlots size the caches; cleanMaxLen is the longest
// string cached (hashing a long one costs more than it saves). The clean
// cache holds a batch's repeated values while the values unique to each
// record (ids, descriptions: several per record) pass through it, so it has
// room for several thousand.
const (
	cleanBits   = 11 // sets of two ways
	cleanSets   = 1 << cleanBits
	keySlots    = 512
	cleanMaxLen = 512
	shapeLen    = 64
	itemMemos   = 4
)

// sampleHash mixes a string's length with five of its bytes. It is much
// cheaper than hashing every byte, and good enough for the key cache (the
// keys of a batch are few and differ in more than a byte or two): a
// collision only costs a recomputation, never a wrong answer, because the
// cached key is compared in full.
func sampleHash(s string) uint32 {
	n := len(s)
	if n == 0 {
		return 0
	}
	h := uint32(n) * 0x9e3779b1
	h ^= uint32(s[0]) * 0x85ebca6b
	h ^= uint32(s[n-1]) * 0xc2b2ae35
	h ^= uint32(s[n/2]) * 0x27d4eb2f
	h ^= uint32(s[n/4]) * 0x165667b1
	h ^= uint32(s[(3*n)/4]) * 0xd3a2646c
	return h ^ h>>15
}

// ensureCache gives rep a cleared batch cache from r's free list (or a new one) if it has none.
func (rep *Report) ensureCache(r *Redactor) *batchCache {
	if rep.cache == nil {
		var c *batchCache
		select {
		case c = <-r.caches:
		default:
			c = &batchCache{}
		}
		rep.cache, rep.owner = c, r
	}
	return rep.cache
}

// Release clears the Report's batch cache and hands it back for a later
// batch to reuse; call it when the batch is done. The Report stays usable
// (a later walk starts with an empty cache).
func (rep *Report) Release() {
	if rep.cache == nil {
		return
	}
	*rep.cache = batchCache{}
	select {
	case rep.owner.caches <- rep.cache:
	default: // enough kept: let this one go
	}
	rep.cache, rep.owner = nil, nil
}

// cleanRef locates a string's clean-cache set: set is -1 when the string
// is not cacheable; tag is the rest of its hash, a and b are the words of a
// short one.
type cleanRef struct {
	set  int
	tag  uint32
	a, b uint64
}

// isShort reports whether a string of n bytes goes to the short table.
func isShort(n int) bool { return n >= 8 && n <= 16 }

// lookupClean returns the clean-cache set of s and whether s is known
// clean, compared in full. The set comes from a hash of every byte: values
// that differ in a byte or two (user names, user agents with a version
// number) would share a set under sampleHash and evict each other. A
// string of 8 to 16 bytes (most ids and names) is hashed and compared as
// its first and last 8 bytes, which together cover it, without a call to
// maphash or memequal; one of up to wordHashMax bytes (names, user agents)
// is hashed inline by wordHash, a longer one by maphash. A hit marks its
// way hot.
func (w *walker) lookupClean(s string) (ref cleanRef, clean bool) {
	n := len(s)
	var h uint64
	switch {
	case n > cleanMaxLen:
		return cleanRef{set: -1}, false
	case isShort(n):
		a, b := load64(s, 0), load64(s, n-8)
		h = (a^w.r.seed64)*0x9e3779b97f4a7c15 ^ (b^w.r.seed64>>7^uint64(n))*0xc2b2ae3d27d4eb4f
		ref = cleanRef{set: int(h >> (64 - cleanBits)), a: a, b: b}
		e := &w.rep.cache.short[ref.set]
		if e[0].a == a && e[0].b == b && int(e[0].n) == n {
			e[0].state |= wayHot
			return ref, true
		}
		if e[1].a == a && e[1].b == b && int(e[1].n) == n {
			e[1].state |= wayHot
			return ref, true
		}
		return ref, false
	case n > 16 && n <= wordHashMax: // not shorter: wordHash reads 8-byte words
		h = wordHash(s, w.r.seed64)
	default:
		h = maphash.String(w.r.seed, s)
	}
	ref.set, ref.tag = int(h>>(64-cleanBits)), uint32(h)
	c := &w.rep.cache.clean[ref.set]
	if c.tag[0] == ref.tag && c.s[0] == s {
		c.state[0] |= wayHot
		return ref, true
	}
	if c.tag[1] == ref.tag && c.s[1] == s {
		c.state[1] |= wayHot
		return ref, true
	}
	return ref, false
}

// wordHashMax is the longest string wordHash hashes for the clean cache:
// up to there it costs less than a call to maphash (about 90 instructions
// whatever the length, up to 128 bytes; wordHash, about 6 a word).
const wordHashMax = 128

// wordHash hashes s, of 9 to wordHashMax bytes (lookupClean passes 17 up), under seed: each 8-byte
// word (the last one overlapping the one before) is mixed in by a multiply
// and a shift, so that every byte reaches the top bits, which pick the
// slot. It only has to spread a batch's values over the cache: a collision
// costs a scan, never a wrong answer, since the cached string is compared
// in full.
func wordHash(s string, seed uint64) uint64 {
	h := seed ^ uint64(len(s))*0x9e3779b97f4a7c15
	for i := 0; i < len(s)-8; i += 8 {
		h = (h ^ load64(s, i)) * 0xc2b2ae3d27d4eb4f
		h ^= h >> 32
	}
	h = (h ^ load64(s, len(s)-8)) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// same reports whether a and b are equal, like a == b. Values that change
// from record to record (numbered names, ids, descriptions ending in one)
// mostly have the length of the value they are compared with and differ
// in their last two bytes, which are compared inline before the runtime
// compares the whole strings.
func same(a, b string) bool {
	n := len(a)
	return n == len(b) && (n < 2 || a[n-1] == b[n-1] && a[n-2] == b[n-2]) && a == b
}

// load64 reads the 8 bytes of s from i, little-endian (one load on amd64
// and arm64).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// markClean stores the clean string s in its set, found by lookupClean,
// as cleanSet says. st is wayCold, or wayCostly when the detectors had to
// read s. (scanClean calls its halves itself: it does not inline.)
func (rep *Report) markClean(ref cleanRef, s string, st uint8) {
	if isShort(len(s)) {
		rep.markShort(ref, len(s), st)
	} else if ref.set >= 0 {
		rep.markLong(ref, s, st)
	}
}

// markShort is markClean for a string of n bytes, 8 to 16.
func (rep *Report) markShort(ref cleanRef, n int, st uint8) {
	e := &rep.cache.short[ref.set]
	if min(e[0].state, e[1].state) >= wayCostly && st < wayCostly {
		return
	}
	if e[1].state <= e[0].state {
		e[1] = e[0]
	}
	e[0] = shortEntry{a: ref.a, b: ref.b, n: uint8(n), state: st}
}

// markLong is markClean for a cacheable string longer than 16 bytes.
func (rep *Report) markLong(ref cleanRef, s string, st uint8) {
	c := &rep.cache.clean[ref.set]
	if min(c.state[0], c.state[1]) >= wayCostly && st < wayCostly {
		return
	}
	if c.state[1] <= c.state[0] {
		c.s[1], c.tag[1], c.state[1] = c.s[0], c.tag[0], c.state[0]
	}
	c.s[0], c.tag[0], c.state[0] = s, ref.tag, st
}

// Reset empties the counts and paths, keeping storage and the clean cache.
func (rep *Report) Reset() {
	rep.Counts = [NumRules]int{}
	rep.Duplicates = 0
	rep.paths = rep.paths[:0]
}

// Any reports whether anything was redacted.
func (rep *Report) Any() bool { return len(rep.paths) > 0 }

// Paths returns the redacted paths, each once, in the order found.
func (rep *Report) Paths() []string { return rep.paths }

func (rep *Report) add(rule Rule, path string) {
	rep.Counts[rule]++
	for _, p := range rep.paths {
		if p == path {
			return
		}
	}
	rep.paths = append(rep.paths, path)
}

// maxPathDepth bounds the path stack kept on the walker's stack array.
const maxPathDepth = 24

// walker carries the state of one walk. Each Report holds one, reused by
// every walk with that Report, so starting a walk clears nothing.
type walker struct {
	r      *Redactor
	rep    *Report
	prefix string
	// path holds the keys from the walk's root to the current value; only
	// the first n are meaningful.
	path [maxPathDepth + 2]string
	n    int
	// top is the top-level map being walked, for keyBefore. lostMark is
	// set when the walk evicts the cache entry of a key it met (whose mark
	// said so): the rest of the walk then compares keys in full.
	top      pcommon.Map
	lostMark bool
	// containers says whether the list walkSlice walked last, the
	// outermost when lists nest, holds a map or a list once walked.
	containers bool
}

// walker returns rep's walker, set up for a walk with r under prefix.
func (rep *Report) walker(r *Redactor, prefix string) *walker {
	w := &rep.w
	w.r, w.rep, w.prefix, w.n = r, rep, prefix, 0
	rep.ensureCache(r)
	return w
}

func (w *walker) push(k string) {
	if w.n < len(w.path) {
		w.path[w.n] = k
	}
	w.n++
}

func (w *walker) pop() { w.n-- }

// current joins the path; it allocates, so it is only called on a hit.
func (w *walker) current() string {
	var b strings.Builder
	b.WriteString(w.prefix)
	for i := 0; i < w.n && i < len(w.path); i++ {
		seg := w.path[i]
		if seg == "[]" {
			b.WriteString(seg)
			continue
		}
		if i > 0 || w.prefix != "" {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func (w *walker) hit(rule Rule) { w.rep.add(rule, w.current()) }

// removals marks, during a walk, the entries of one map or slice to remove
// once the walk over it is done: pdata can only remove through RemoveIf,
// whose callback costs an indirect call per entry, while removals are rare.
// The first 64 indexes live in a bit set, later ones in a list allocated
// only when one is marked.
type removals struct {
	first uint64
	later []int // ascending
}

func (rm *removals) mark(i int) {
	if i < 64 {
		rm.first |= 1 << uint(i)
		return
	}
	rm.later = append(rm.later, i)
}

// has reports whether index i is marked; successive calls must pass
// ascending indexes.
func (rm *removals) has(i int) bool {
	if i < 64 {
		return rm.first&(1<<uint(i)) != 0
	}
	for len(rm.later) > 0 && rm.later[0] < i {
		rm.later = rm.later[1:]
	}
	return len(rm.later) > 0 && rm.later[0] == i
}

func (rm *removals) empty() bool { return rm.first == 0 && len(rm.later) == 0 }

// removeFrom removes the marked entries of m, which must be the map whose
// entries were marked, unchanged in length and order since. It is small
// enough to inline, so a walk with nothing to remove makes no call.
func (rm *removals) removeFrom(m pcommon.Map) {
	if !rm.empty() {
		rm.remove(m)
	}
}

// remove is removeFrom when some entry is marked; kept out of line so that
// removeFrom inlines.
//
//go:noinline
func (rm *removals) remove(m pcommon.Map) {
	i := 0
	m.RemoveIf(func(string, pcommon.Value) bool {
		remove := rm.has(i)
		i++
		return remove
	})
}

// removeFromSlice is removeFrom for a slice.
func (rm *removals) removeFromSlice(s pcommon.Slice) {
	if !rm.empty() {
		rm.removeSlice(s)
	}
}

// removeSlice is removeFromSlice when some item is marked.
//
//go:noinline
func (rm *removals) removeSlice(s pcommon.Slice) {
	i := 0
	s.RemoveIf(func(pcommon.Value) bool {
		remove := rm.has(i)
		i++
		return remove
	})
}

// Attributes redacts an attribute map in place. Recorded paths start with
// prefix ("" for record attributes, for example "resource" for resource
// attributes). When top is true the map holds record attributes: exempt keys
// are honoured and schema.AttrChanges gets its old/new treatment.
//
// A map at any depth that repeats a key keeps its first entry with that key
// (the one pcommon.Map.Get finds) and loses the later ones, counted in
// rep.Duplicates: Elasticsearch refuses a document with a repeated field,
// so the whole record would be lost. A later top-level entry is removed
// before Report.Hook sees it.
func (r *Redactor) Attributes(m pcommon.Map, prefix string, top bool, rep *Report) {
	rep.walker(r, prefix).walkMap(m, 0, false, top)
}

// Body redacts a record body in place; paths start with "body".
func (r *Redactor) Body(v pcommon.Value, rep *Report) {
	w := rep.walker(r, "body")
	if v.Type() == pcommon.ValueTypeStr {
		w.bodyString(v)
		return
	}
	if w.walkValueOTP(v, 0, false) {
		v.SetStr(Mask)
		w.hit(RuleKey)
	}
}

// bodyString is Body for a string. Such a body is mostly a description of
// its own record, unique in the batch: it is compared with the last few
// clean bodies, in full, and otherwise scanned without the clean cache,
// whose room is kept for values that repeat.
func (w *walker) bodyString(v pcommon.Value) {
	s := v.Str()
	if len(s) < minScanLen || len(s) == uuidLen && IsUUID(s) {
		return
	}
	if w.rep.bodies.has(s) {
		return
	}
	out, drop, clean := w.detect(s)
	switch {
	case drop:
		v.SetStr(Mask)
		w.hit(RuleKey)
	case clean:
		w.rep.bodies.add(s)
	case out != s:
		v.SetStr(out)
	}
}

// Text redacts a free-standing string field (an event name, a scope name)
// with the value detectors; hits are recorded under path. A drop rule
// yields Mask, since such a field cannot be removed.
func (r *Redactor) Text(path, s string, rep *Report) (out string, changed bool) {
	if len(s) < minScanLen {
		return s, false
	}
	// The few free-standing strings of a batch (event names, scope names)
	// repeat from record to record: the last clean ones are compared in
	// full before the clean cache is asked.
	if rep.texts.has(s) {
		return s, false
	}
	out, drop, clean := rep.walker(r, path).scanClean(s)
	switch {
	case drop:
		return Mask, true
	case clean:
		rep.texts.add(s)
	}
	return out, out != s
}

// String returns s with every secret the value detectors find redacted,
// drop reporting that a drop rule matched (the caller removes the value).
func (r *Redactor) String(s string, rep *Report) (out string, drop bool) {
	return rep.walker(r, "").scan(s)
}

// walkMap walks m, removing the entries that must go once it is done.
func (w *walker) walkMap(m pcommon.Map, depth int, otp, top bool) {
	if top {
		w.walkTopMap(m)
		return
	}
	w.dedupe(m)
	var rm removals
	i := 0
	for k, v := range m.All() {
		if w.walkOne(k, v, depth, otp) {
			rm.mark(i)
		}
		i++
	}
	rm.removeFrom(m)
}

// walkTopMap is walkMap for a top-level map (record attributes).
func (w *walker) walkTopMap(m pcommon.Map) {
	stamp := w.startTop(m)
	var rm removals
	i := 0
	for k, v := range m.All() {
		if w.walkTop(k, v, i, stamp) {
			rm.mark(i)
		}
		i++
	}
	rm.removeFrom(m)
}

// walkTop redacts one entry of a top-level map, at position pos, in place
// and reports whether to remove it. stamp is the map's (startTop). It is
// walkOne for depth 0 outside any OTP key, written apart: fewer arguments,
// and no test of the level, on the path every record attribute takes.
func (w *walker) walkTop(k string, v pcommon.Value, pos int, stamp uint32) bool {
	var e *keyEntry
	var tag uint8
	// keyInfo's first step, here to save a call per entry: the key at this
	// position in the previous record, compared in full.
	if uint(pos) < shapeLen {
		if c := w.rep.cache.shape[pos]; c != nil && c.verdict[1] != 0 && len(c.k) == len(k) {
			// A key of 8 to 24 bytes (most are) is compared as three
			// 8-byte words, at the start, in the middle and at the end,
			// which together cover every byte: written out, as no
			// function doing it inlines, and a call (to one or to
			// memequal) would cost more than the comparison, once for
			// every key of every record.
			if n := len(k) - 8; n >= 0 && n <= 16 {
				if load64(k, 0) == load64(c.k, 0) && load64(k, n/2) == load64(c.k, n/2) && load64(k, n) == load64(c.k, n) {
					e, tag = c, c.tag
				}
			} else if c.k == k {
				e, tag = c, c.tag
			}
		}
	}
	if e == nil {
		var secret bool
		e, tag, secret = w.keyInfo(k, true, pos, &w.rep.cache.shape)
		if secret {
			// A secret used as a key: remove the entry, fail closed.
			return true
		}
	}
	// A key met before in this map: the later entry goes, before anything
	// reads it. Keys that have an entry in the cache are distinct, so the
	// entry's mark tells; if the walk evicted a marked entry, the keys
	// before pos are compared instead.
	if e.mark == stamp || w.lostMark && w.keyBefore(k, pos) {
		w.rep.Duplicates++
		return true
	}
	e.mark = stamp
	verdict := e.verdict[1]
	var remove bool
	if verdict&verdictKey == 0 && v.Type() == pcommon.ValueTypeStr {
		// The common case, without redactEntry's other cases: a string
		// under a key that matches no pattern stays a string. The key
		// goes on the path only around a scan, the only step that can
		// record a hit (a string too short to scan, or the key's last
		// clean value, needs no path).
		if s := v.Str(); verdict&verdictOTP != 0 {
			w.push(k)
			remove = w.walkString(v, true, &e.clean)
			w.pop()
		} else if len(s) >= minScanLen && !same(e.clean, s) {
			// walkString past its shortcuts (too short to hold a secret,
			// the key's last clean value), done here without its call.
			w.push(k)
			out, drop, clean := w.scanClean(s)
			w.pop()
			remove = settle(v, s, out, drop, clean, &e.clean)
		}
		// The value is still a string: the hook wants it unless the tag
		// says strings are fine.
		if !remove && tag != 0 && tag&HookContainers == 0 && w.rep.Hook != nil {
			remove = w.rep.Hook.Hook(k, tag, v)
		}
		return remove
	}
	w.push(k)
	remove = w.redactEntry(k, v, e, pos, 0, false, true)
	w.pop()
	if !remove && tag != 0 && w.rep.Hook != nil && (tag&HookContainers == 0 || w.isContainer(v)) &&
		(tag&HookNonMaps == 0 || v.Type() != pcommon.ValueTypeMap) {
		remove = w.rep.Hook.Hook(k, tag, v)
	}
	return remove
}

// walkOne redacts one entry of a map below the top level in place and
// reports whether to remove it.
func (w *walker) walkOne(k string, v pcommon.Value, depth int, otp bool) bool {
	if len(k) >= longKey && w.pathTooLong(k) {
		return true
	}
	e, _, secret := w.keyInfo(k, false, 0, nil)
	if secret {
		return true
	}
	verdict := e.verdict[0]
	if verdict&verdictKey == 0 && v.Type() == pcommon.ValueTypeStr {
		// As in walkTop.
		if s := v.Str(); otp || verdict&verdictOTP != 0 {
			w.push(k)
			remove := w.walkString(v, true, &e.clean)
			w.pop()
			return remove
		} else if len(s) >= minScanLen && !same(e.clean, s) {
			w.push(k)
			out, drop, clean := w.scanClean(s)
			w.pop()
			return settle(v, s, out, drop, clean, &e.clean)
		}
		return false
	}
	w.push(k)
	remove := w.redactEntry(k, v, e, 0, depth, otp, false)
	w.pop()
	return remove
}

// isContainer reports whether v, a top-level value just walked, is a map,
// or a list holding a map or a list (see HookContainers): for a list,
// walkSlice has just told, as it read the items' types anyway.
func (w *walker) isContainer(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return true
	case pcommon.ValueTypeSlice:
		return w.containers
	}
	return false
}

// redactEntry redacts the value of one entry whose key, with cache entry e,
// is already on the path, reporting whether to remove the entry.
func (w *walker) redactEntry(k string, v pcommon.Value, e *keyEntry, pos, depth int, otp, top bool) bool {
	verdict := e.verdict[0]
	if top {
		verdict = e.verdict[1]
	}
	otpMatch := verdict&verdictOTP != 0
	changes := top && k == schema.AttrChanges && v.Type() == pcommon.ValueTypeMap
	if verdict&verdictKey != 0 {
		if changes {
			// The whole changes map matched: keep its shape, redact every field.
			w.redactChangesFields(v.Map())
			return false
		}
		return w.apply(v, RuleKey, w.r.keyAction)
	}
	if changes {
		w.walkChanges(v.Map())
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return w.walkString(v, otp || otpMatch, &e.clean)
	case pcommon.ValueTypeSlice:
		if top && uint(pos) < shapeLen {
			// A top-level list (activity.changed_fields): its strings
			// often repeat by position from record to record.
			return w.walkSlice(v, depth, otp || otpMatch, &w.rep.cache.items[pos])
		}
	}
	return w.walkValueOTP(v, depth, otp || otpMatch)
}

// walkChanges walks activity.changes: {"field": {"old": v, "new": v}}. A
// field whose name matches a key pattern becomes {"redacted": true} (or,
// with the hash action, keeps old/new as keyed hashes).
func (w *walker) walkChanges(m pcommon.Map) {
	w.startChanges()
	var rm removals
	i := 0
	for k, v := range m.All() {
		if w.walkChange(k, v, i) {
			rm.mark(i)
		}
		i++
	}
	rm.removeFrom(m)
	if w.rep.cache.lostField {
		// The walk evicted the entry of a field it had met: compare the
		// names in full.
		w.dedupe(m)
	}
}

// walkChange redacts one field of activity.changes, at position pos, and
// reports whether to remove it.
func (w *walker) walkChange(k string, v pcommon.Value, pos int) bool {
	// keyInfo's first step, as in walkTop: the field name at this
	// position in the previous record's changes, compared in full.
	var e *keyEntry
	if uint(pos) < shapeLen {
		if c := w.rep.cache.fields[pos]; c != nil && c.verdict[0] != 0 && len(c.k) == len(k) {
			// Compared as in walkTop.
			if n := len(k) - 8; n >= 0 && n <= 16 {
				if load64(k, 0) == load64(c.k, 0) && load64(k, n/2) == load64(c.k, n/2) && load64(k, n) == load64(c.k, n) {
					e = c
				}
			} else if c.k == k {
				e = c
			}
		}
	}
	if e == nil {
		if len(k) >= longKey && w.pathTooLong(k) {
			return true
		}
		var secret bool
		e, _, secret = w.keyInfo(k, false, pos, &w.rep.cache.fields)
		if secret {
			return true
		}
	}
	// A field met before in these changes goes, as in walkTop.
	c := w.rep.cache
	if e.fieldMark == c.fieldStamp {
		w.rep.Duplicates++
		return true
	}
	e.fieldMark = c.fieldStamp
	w.push(k)
	remove := w.walkChangeValue(v, e)
	w.pop()
	return remove
}

// walkChangeValue redacts the value of one field of activity.changes, whose
// name, with cache entry e, is on the path.
func (w *walker) walkChangeValue(v pcommon.Value, e *keyEntry) bool {
	verdict := e.verdict[0]
	otp := verdict&verdictOTP != 0
	if verdict&verdictKey != 0 {
		if !redactedByEmitter(v) {
			w.redactChange(v)
		}
		return false
	}
	if v.Type() != pcommon.ValueTypeMap {
		return w.walkValueOTP(v, 1, otp)
	}
	// {"old": v, "new": v}: the structural keys old and new are not
	// matched against the patterns (the field name was); anything else
	// in the entry is walked like any map.
	m := v.Map()
	var rm removals
	i := 0
	var met uint8 // 1: old, 2: new, 4: another key
	for ck, cv := range m.All() {
		var remove bool
		switch {
		case ck == "old" || ck == "new":
			bit := uint8(1)
			if ck == "new" {
				bit = 2
			}
			if met&bit != 0 {
				// old or new again: the first stays.
				w.rep.Duplicates++
				remove = true
				break
			}
			met |= bit
			w.push(ck)
			if cv.Type() == pcommon.ValueTypeStr {
				memo := &e.clean
				if bit == 2 {
					memo = &e.cleanNew
				}
				if s := cv.Str(); otp {
					remove = w.walkString(cv, true, memo)
				} else if len(s) >= minScanLen && !same(*memo, s) {
					// Past walkString's shortcuts, as in walkTop.
					out, drop, clean := w.scanClean(s)
					remove = settle(cv, s, out, drop, clean, memo)
				}
			} else if !otp && cv.Type() == pcommon.ValueTypeInt && (!w.r.cardOn || magnitude(cv.Int()) < 1e12) {
				// A number too short for a card (points, counts),
				// under no OTP field: walkValueOTP would leave it,
				// here without its call.
			} else {
				remove = w.walkValueOTP(cv, 2, otp)
			}
			w.pop()
		default:
			met |= 4
			remove = w.walkOne(ck, cv, 2, otp)
		}
		if remove {
			rm.mark(i)
		}
		i++
	}
	rm.removeFrom(m)
	if met&4 != 0 {
		// Keys besides old and new: compare them all.
		w.dedupe(m)
	}
	return false
}

func (w *walker) redactChangesFields(m pcommon.Map) {
	w.dedupe(m)
	m.RemoveIf(func(k string, v pcommon.Value) bool {
		if w.secretKey(k) {
			return true
		}
		w.push(k)
		defer w.pop()
		w.redactChange(v)
		return false
	})
}

// redactedByEmitter reports whether a changed field's value is already what
// redactChange makes of it, {"redacted": true}, with nothing else in it: our
// library records a credential-named field's change so. Nothing is left to
// redact, and counting it as redacted here would flag every password change
// as a leak the collector caught.
func redactedByEmitter(v pcommon.Value) bool {
	if v.Type() != pcommon.ValueTypeMap || v.Map().Len() != 1 {
		return false
	}
	b, ok := v.Map().Get("redacted")
	return ok && b.Type() == pcommon.ValueTypeBool && b.Bool()
}

// redactChange redacts one changed field's values.
func (w *walker) redactChange(v pcommon.Value) {
	w.hit(RuleKey)
	if w.r.keyAction == ActionHash && v.Type() == pcommon.ValueTypeMap {
		w.dedupe(v.Map())
		v.Map().RemoveIf(func(k string, old pcommon.Value) bool {
			if k != "old" && k != "new" {
				return true
			}
			old.SetStr(w.r.hash(old.AsString()))
			return false
		})
		return
	}
	red := v.SetEmptyMap()
	red.PutBool("redacted", true)
}

// keyInfo returns the batch cache entry of key k, at position pos of its
// map, with its verdict at k's level filled in, and Config.Hooked's tag for
// a top-level key (0 otherwise); or whether k itself holds a secret (then
// nothing is cached and the hit is recorded under the parent's path).
// The entry is valid until the next call.
// shape, when not nil, remembers the entries of the keys of the previous
// map of the same kind by position.
func (w *walker) keyInfo(k string, top bool, pos int, shape *[shapeLen]*keyEntry) (e *keyEntry, tag uint8, secret bool) {
	// The key at this position in the previous map, compared in full like
	// any cache entry.
	if shape != nil && uint(pos) < shapeLen {
		level := 0
		if top {
			level = 1
		}
		if e := shape[pos]; e != nil && e.k == k && e.verdict[level] != 0 {
			if !top {
				return e, 0, false
			}
			return e, e.tag, false
		}
	}
	return w.lookupKey(k, top, pos, shape)
}

// lookupKey is keyInfo without the shape: the key's entry in the batch
// cache, filled in when missing (and remembered in shape).
func (w *walker) lookupKey(k string, top bool, pos int, shape *[shapeLen]*keyEntry) (e *keyEntry, tag uint8, secret bool) {
	c := w.rep.cache
	level := 0
	if top {
		level = 1
	}
	// Two-way set associative: a key may sit in either slot of its pair.
	i := sampleHash(k) % keySlots
	slot := &c.keys[i]
	if slot.k != k {
		if other := &c.keys[i^1]; other.k == k || (slot.k != "" && other.k == "") {
			slot = other
		}
	}
	if slot.k == k && slot.verdict[level] != 0 {
		if top {
			tag = slot.tag
		}
		remember(shape, slot, pos)
		return slot, tag, false
	}
	if w.secretKey(k) {
		return nil, 0, true
	}
	verdict := verdictKnown
	if top && w.r.hooked != nil {
		tag = w.r.hooked(k)
	}
	if _, exempt := w.r.exempt[k]; exempt && top {
		verdict |= verdictExempt
	} else {
		key, otp := w.r.classify(k)
		if key {
			verdict |= verdictKey
		}
		if otp {
			verdict |= verdictOTP
		}
	}
	if slot.k != k {
		if slot.k != "" {
			// The entry of a key of the top-level map, or a field of
			// the changes, being walked.
			w.lostMark = w.lostMark || slot.mark == c.stamp
			c.lostField = c.lostField || slot.fieldMark == c.fieldStamp
		}
		*slot = keyEntry{k: k}
	}
	slot.verdict[level] = verdict
	if top {
		slot.tag = tag
	}
	remember(shape, slot, pos)
	return slot, tag, false
}

// remember records, in shape if not nil, the cache entry of the key at
// position pos.
func remember(shape *[shapeLen]*keyEntry, e *keyEntry, pos int) {
	if shape != nil && uint(pos) < shapeLen {
		shape[pos] = e
	}
}

// secretKey runs the value detectors on a map key and reports whether the
// key holds a secret. The path recorded is the parent's with "[REDACTED]"
// in place of the key, never the key itself.
func (w *walker) secretKey(k string) bool {
	if len(k) < minScanLen {
		return false
	}
	w.push(Mask)
	out, drop := w.scan(k)
	w.pop()
	return drop || out != k
}

// walkValueOTP redacts v in place and reports whether it must be removed.
// depth is the number of containers around v.
func (w *walker) walkValueOTP(v pcommon.Value, depth int, otp bool) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return w.walkString(v, otp, nil)
	case pcommon.ValueTypeInt:
		if otp {
			return w.apply(v, RuleOTP, w.r.otpAction)
		}
		if w.r.cardOn && isCardInt(magnitude(v.Int())) {
			return w.apply(v, RuleCard, w.r.cardAct)
		}
		return false
	case pcommon.ValueTypeDouble:
		// A whole number sent as a double is written out as one
		// (4111111111111111, not 4.111111111111111e15), so it is checked
		// as an integer is.
		f := math.Abs(v.Double())
		if f != math.Trunc(f) || f >= 1e19 { // fractions, NaN, infinities, 20 digits or more
			return false
		}
		if otp {
			return w.apply(v, RuleOTP, w.r.otpAction)
		}
		if !w.r.cardOn || f < 1e12 {
			return false
		}
		if f >= 1<<53 {
			// Past 2^53 a double no longer holds every integer, so the
			// digits it is written with need not be the ones sent: a
			// 17 – 19 digit card would lose only its last digits. It
			// cannot be checked: fail closed.
			w.hit(RuleUninspectable)
			v.SetStr(Mask)
			return false
		}
		if isCardInt(uint64(f)) {
			return w.apply(v, RuleCard, w.r.cardAct)
		}
		return false
	case pcommon.ValueTypeBytes:
		// Bytes cannot be inspected: fail closed.
		w.hit(RuleUninspectable)
		v.SetStr(Mask)
		return false
	case pcommon.ValueTypeMap:
		if depth >= w.r.maxDepth {
			w.hit(RuleTooDeep)
			v.SetStr(Mask)
			return false
		}
		w.walkMap(v.Map(), depth+1, otp, false)
		return false
	case pcommon.ValueTypeSlice:
		return w.walkSlice(v, depth, otp, nil)
	}
	return false
}

// walkSlice is walkValueOTP for a slice. memo, when not nil, holds a clean
// string for each of the first positions (see walkString), updated as the
// walk goes.
func (w *walker) walkSlice(v pcommon.Value, depth int, otp bool, memo *[itemMemos]string) bool {
	if depth >= w.r.maxDepth {
		w.hit(RuleTooDeep)
		v.SetStr(Mask)
		return false
	}
	w.push("[]")
	sl := v.Slice()
	var rm removals
	containers := false
	for i := 0; i < sl.Len(); i++ {
		item := sl.At(i)
		var remove bool
		if memo != nil && i < itemMemos && item.Type() == pcommon.ValueTypeStr {
			// A string stays a string, or goes.
			if s := item.Str(); otp || len(s) >= minScanLen && !same(memo[i], s) {
				// Past walkString's shortcuts (too short, the
				// position's last clean string), as in walkTop.
				remove = w.walkString(item, otp, &memo[i])
			}
		} else {
			remove = w.walkValueOTP(item, depth+1, otp)
			if t := item.Type(); !remove && (t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice) {
				containers = true
			}
		}
		if remove {
			rm.mark(i)
		}
	}
	rm.removeFromSlice(sl)
	w.pop()
	// Last, after the walks of the lists inside.
	w.containers = containers
	return false
}

// walkString redacts the string value v in place and reports whether it
// must be removed. memo, when not nil, holds a string known to be clean (it
// is updated when v turns out clean): the walk compares v with it before
// looking the value up in the clean cache.
func (w *walker) walkString(v pcommon.Value, otp bool, memo *string) bool {
	s := v.Str()
	if otp && isOTPCode(s) {
		return w.apply(v, RuleOTP, w.r.otpAction)
	}
	if len(s) < minScanLen || memo != nil && same(*memo, s) {
		return false
	}
	out, drop, clean := w.scanClean(s)
	if memo == nil {
		var none string
		memo = &none
	}
	return settle(v, s, out, drop, clean, memo)
}

// settle applies scanClean's result for the string s of v: it reports
// whether to remove v (drop), remembers a clean s in memo, or stores the
// redacted string out. It inlines.
func settle(v pcommon.Value, s, out string, drop, clean bool, memo *string) bool {
	switch {
	case drop:
		return true
	case clean:
		*memo = s
	case out != s:
		v.SetStr(out)
	}
	return false
}

// isCardInt reports whether n, written in decimal, is a card number: 13 to
// 19 digits that pass the Luhn check.
func isCardInt(n uint64) bool {
	if n < 1e12 { // fewer than 13 digits
		return false
	}
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], n, 10)
	if len(s) > maxCardDigits {
		return false
	}
	for i := range s {
		s[i] -= '0'
	}
	return luhn(s)
}

// magnitude is |n|; a minus sign does not hide a card number.
func magnitude(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1 // math.MinInt64 too
	}
	return uint64(n)
}

// apply applies action to the whole of v for rule; true means remove v.
func (w *walker) apply(v pcommon.Value, rule Rule, action Action) bool {
	w.hit(rule)
	switch action {
	case ActionDrop:
		return true
	case ActionHash:
		v.SetStr(w.r.hash(v.AsString()))
	default:
		v.SetStr(Mask)
	}
	return false
}

func (r *Redactor) hash(secret string) string {
	m := hmac.New(sha256.New, r.hashKey)
	m.Write([]byte(secret))
	var sum [sha256.Size]byte
	return hashPrefix + hex.EncodeToString(m.Sum(sum[:0])[:hashBytes])
}

// scan runs every enabled detector over s. It returns s itself (no
// allocation) when nothing is found.
func (w *walker) scan(s string) (string, bool) {
	out, drop, _ := w.scanClean(s)
	return out, drop
}

// scanClean is scan, also reporting whether s is clean: no detector found
// anything in it.
func (w *walker) scanClean(s string) (out string, drop, clean bool) {
	if len(s) < minScanLen {
		return s, false, true
	}
	if len(s) == uuidLen && IsUUID(s) {
		// Ids are the most common unique values. A UUID cannot be any
		// detected credential, and scanning one could mistake its decimal
		// groups for a card number and mangle a record id.
		return s, false, true
	}
	ref, clean := w.lookupClean(s)
	if clean {
		return s, false, true
	}
	// detect, without its call: most strings stop at the pre-filter.
	st := wayCold
	if cand := w.r.candidates(s); cand != 0 {
		if out, drop, clean = w.run(s, cand); !clean {
			return out, drop, clean
		}
		st = wayCostly
	}
	// markClean, with its halves inlined.
	if isShort(len(s)) {
		w.rep.markShort(ref, len(s), st)
	} else if ref.set >= 0 {
		w.rep.markLong(ref, s, st)
	}
	return s, false, true
}

// detect is scanClean after its shortcuts: it runs the detectors the
// pre-filter selects.
func (w *walker) detect(s string) (out string, drop, clean bool) {
	cand := w.r.candidates(s)
	if cand == 0 {
		return s, false, true
	}
	return w.run(s, cand)
}

// run runs the detectors whose bits are set in cand (the pre-filter's
// answer for s) over s. Every detector reads s as it came, and what any of
// them found is masked at the end: run one after another over each other's
// output, a detector could hide what a later one needed to see (a token
// masked inside the name of "name=value" left the value unrecognised).
//
// A string with invisible characters, or full-width separators, quotes or
// spaces, in it (cand has candPlain) is read a second time in its plain
// form (see plainText), so that a zero-width space pasted into a token, or
// a pair an IME typed ("password＝..."), does not hide a secret; what is
// found there is masked in s over the characters it came from. The first
// reading stays: there a zero-width character may separate a card's digit
// groups.
func (w *walker) run(s string, cand uint32) (out string, drop, clean bool) {
	var buf [8]span
	spans, hits, drop := w.find(s, cand, 0, buf[:0])
	if drop {
		return "", true, false
	}
	if cand&candPlain != 0 {
		plain, pos := plainText(s)
		first := len(spans)
		spans, _, drop = w.find(plain, w.r.candidates(plain), hits, spans)
		if drop {
			return "", true, false
		}
		for i := first; i < len(spans); i++ {
			spans[i].start, spans[i].end = pos[spans[i].start], plainEnd(s, plain, pos, spans[i].end)
		}
	}
	if len(spans) == 0 {
		return s, false, true
	}
	return w.replace(s, spans), false, false
}

// find appends to spans what the detectors whose bits are set in cand find
// in s, recording a hit for each rule that finds something and is not in
// hits already; it returns the rules that found something, and drop when
// one of them drops the value.
func (w *walker) find(s string, cand, hits uint32, spans []span) (_ []span, found uint32, drop bool) {
	found = hits
	for i := range w.r.detectors {
		d := &w.r.detectors[i]
		if cand&d.need == 0 {
			continue
		}
		start, end, ok := d.find(s, 0)
		if !ok {
			continue
		}
		if found&ruleBit(d.rule) == 0 {
			w.hit(d.rule)
			found |= ruleBit(d.rule)
		}
		if d.action == ActionDrop {
			return spans, found, true
		}
		for ok {
			spans = append(spans, span{start, end, d.action})
			start, end, ok = d.find(s, end)
		}
	}
	return spans, found, false
}

// A span is a part of a string a detector found, and its action.
type span struct {
	start, end int
	action     Action
}

// replace returns s with each span masked or hashed. Overlapping spans are
// one: hashed only if every detector that found a part of it hashes.
func (w *walker) replace(s string, spans []span) string {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start < cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
			if spans[i].action != cur.action {
				cur.action = ActionMask
			}
		}
		b.WriteString(s[last:cur.start])
		if cur.action == ActionHash {
			b.WriteString(w.r.hash(s[cur.start:cur.end]))
		} else {
			b.WriteString(Mask)
		}
		last = cur.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// uuidLen is the length of a canonical UUID; callers compare it before
// calling IsUUID, which saves a call for every other string.
const uuidLen = 36

// IsUUID reports whether s is a canonical 8-4-4-4-12 hexadecimal UUID
// (either case). Its 32 digits are checked as four words of eight.
func IsUUID(s string) bool {
	if len(s) != uuidLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	const low = 0xffffffff
	return isHex8(load64(s, 0)) && isHex8(load64(s, 9)&low|load64(s, 14)<<32) &&
		isHex8(load64(s, 19)&low|load64(s, 24)<<32) && isHex8(load64(s, 28))
}

// isHex8 reports whether each of the 8 bytes of x is a hexadecimal digit.
// Bytes below 0x80 added to a constant below 0x80 never carry into the
// next byte, so each sum's high bit compares one byte with one bound.
func isHex8(x uint64) bool {
	const (
		ones = 0x0101010101010101
		high = 0x80 * ones
	)
	if x&high != 0 {
		return false
	}
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
	y := x | 0x20*ones // 'A'-'F' become 'a'-'f'; nothing else does
	letter := (y + (0x80-'a')*ones) &^ (y + (0x80-'f'-1)*ones)
	return (digit|letter)&high == high
}
