package recordid

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Value type tags of the canonical encoding. They keep, for example, the
// string "1" and the integer 1 from hashing alike.
const (
	tagEmpty byte = iota
	tagString
	tagBool
	tagInt
	tagDouble
	tagBytes
	tagMap
	tagSlice
)

// Derive returns a UUIDv7-shaped id for lr: the 48-bit millisecond timestamp
// of the record (its Timestamp, else its ObservedTimestamp) followed by bits
// of a SHA-256 hash over the record's timestamp, event name, severity, body
// and attributes (sorted by key). Attributes for which skip returns true are
// left out, so routing attributes that the processor itself overwrites do not
// change the id. Equal records always get equal ids; ids sort by time.
func Derive(lr plog.LogRecord, skip func(key string) bool) string {
	return DeriveFrom(nil, lr, skip, 0)
}

// An Origin is a digest of where records come from: their resource and
// instrumentation scope.
type Origin [sha256.Size]byte

// OriginOf returns the Origin of the records under res and scope: a hash of
// the resource's attributes (those for which skip returns true left out) and
// the scope's name, version and attributes.
func OriginOf(res pcommon.Resource, scope pcommon.InstrumentationScope, skip func(key string) bool) Origin {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	writeMap(h, &buf, res.Attributes(), skip)
	writeString(h, &buf, scope.Name())
	writeString(h, &buf, scope.Version())
	writeMap(h, &buf, scope.Attributes(), nil)
	var o Origin
	h.Sum(o[:0])
	return o
}

// DeriveFrom is Derive for a record from origin (nil: not hashed) that is
// the n-th (from 0) of several identical records from there. Both are hashed
// after everything Derive hashes, n only when above 0, so each copy gets an
// id of its own, as does the same record from another host or scope, and
// DeriveFrom(nil, lr, skip, 0) is Derive(lr, skip). The encoding of a record
// is self-delimiting, so no record's id is another's with more appended.
func DeriveFrom(origin *Origin, lr plog.LogRecord, skip func(key string) bool, n int) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	writeUint(h, &buf, uint64(ts))
	writeString(h, &buf, lr.EventName())
	writeUint(h, &buf, uint64(lr.SeverityNumber()))
	writeString(h, &buf, lr.SeverityText())
	writeValue(h, &buf, lr.Body())
	writeMap(h, &buf, lr.Attributes(), skip)
	if origin != nil {
		h.Write(origin[:])
	}
	if n > 0 {
		writeUint(h, &buf, uint64(n))
	}
	return FromHash(ts.AsTime(), h.Sum(nil))
}

// Scoped returns the document id of a record whose emitter gave it the id
// id, which is unique only within the emitting service of the record's
// tenant: a UUIDv8 (RFC 9562's custom layout) of 122 bits of a SHA-256 hash
// over tenant, service and id, each length-prefixed, so no two triples hash
// alike by how they split. It depends on nothing else, so the same id sent
// again, even with a new timestamp (an outbox publishing a row twice), maps
// onto the same document.
func Scoped(tenant, service, id string) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	writeString(h, &buf, "activitylog scoped id")
	writeString(h, &buf, tenant)
	writeString(h, &buf, service)
	writeString(h, &buf, id)
	var u uuid.UUID
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// FromHash builds a UUIDv7-shaped id from a time and at least 10 bytes of
// hash output (shorter input is zero-padded).
func FromHash(t time.Time, sum []byte) string {
	var id uuid.UUID
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	ums := uint64(ms)
	id[0], id[1], id[2] = byte(ums>>40), byte(ums>>32), byte(ums>>24)
	id[3], id[4], id[5] = byte(ums>>16), byte(ums>>8), byte(ums)
	copy(id[6:], sum)
	id[6] = id[6]&0x0f | 0x70 // version 7
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String()
}

func writeUint(h hash.Hash, buf *[binary.MaxVarintLen64]byte, v uint64) {
	n := binary.PutUvarint(buf[:], v)
	h.Write(buf[:n])
}

func writeString(h hash.Hash, buf *[binary.MaxVarintLen64]byte, s string) {
	writeUint(h, buf, uint64(len(s)))
	h.Write([]byte(s))
}

func writeValue(h hash.Hash, buf *[binary.MaxVarintLen64]byte, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		h.Write([]byte{tagString})
		writeString(h, buf, v.Str())
	case pcommon.ValueTypeBool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		h.Write([]byte{tagBool, b})
	case pcommon.ValueTypeInt:
		h.Write([]byte{tagInt})
		writeUint(h, buf, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		h.Write([]byte{tagDouble})
		writeUint(h, buf, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBytes:
		h.Write([]byte{tagBytes})
		b := v.Bytes().AsRaw()
		writeUint(h, buf, uint64(len(b)))
		h.Write(b)
	case pcommon.ValueTypeMap:
		h.Write([]byte{tagMap})
		writeMap(h, buf, v.Map(), nil)
	case pcommon.ValueTypeSlice:
		h.Write([]byte{tagSlice})
		s := v.Slice()
		writeUint(h, buf, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			writeValue(h, buf, s.At(i))
		}
	default:
		h.Write([]byte{tagEmpty})
	}
}

func writeMap(h hash.Hash, buf *[binary.MaxVarintLen64]byte, m pcommon.Map, skip func(string) bool) {
	keys := make([]string, 0, m.Len())
	for k := range m.All() {
		if skip == nil || !skip(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	writeUint(h, buf, uint64(len(keys)))
	for _, k := range keys {
		v, _ := m.Get(k)
		writeString(h, buf, k)
		writeValue(h, buf, v)
	}
}
