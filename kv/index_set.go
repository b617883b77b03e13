package kv

import (
	"bytes"
	"hash/maphash"
	"strings"
)

// entrySet finds an execution's entry by job type and id. It is an
// open-addressing hash table of entry pointers (linear probing, at most
// 3/4 full): 8 bytes a slot, 11 to 21 bytes per execution, where a
// map[key]*ientry took about 50 (a 32-byte slot, the map's slack). The key
// is read from the entry itself, so the table holds nothing else.
type entrySet struct {
	seed  maphash.Seed
	slots []*ientry // nil: empty; len is a power of two
	n     int
}

func newEntrySet() entrySet { return entrySet{seed: maphash.MakeSeed()} }

// ekey is what finds an entry: its job type (interned) and id, a
// canonical UUID as its 16 bytes (as the entry holds it), else the string.
type ekey struct {
	job    uint16
	hasUID bool
	uid    [16]byte
	id     string // when !hasUID
}

// keyOf is the key of (job, id).
func keyOf(job uint16, id string) ekey {
	k := ekey{job: job}
	if u, ok := parseUUID(id); ok {
		k.hasUID, k.uid = true, u
	} else {
		k.id = id
	}
	return k
}

func (k *ekey) matches(en *ientry) bool {
	if en.job != k.job || en.hasUID != k.hasUID {
		return false
	}
	if k.hasUID {
		return en.key == string(k.uid[:])
	}
	return en.key == k.id
}

// mix folds the job type and the kind of id into an id's hash
// (maphash.Bytes and maphash.String agree on the same bytes).
func mix(h uint64, job uint16, hasUID bool) uint64 {
	if hasUID {
		h = ^h
	}
	return h ^ (uint64(job)+1)*0x9E3779B97F4A7C15
}

func (s *entrySet) keyHash(k *ekey) uint64 {
	if k.hasUID {
		return mix(maphash.Bytes(s.seed, k.uid[:]), k.job, true)
	}
	return mix(maphash.String(s.seed, k.id), k.job, false)
}

func (s *entrySet) entryHash(en *ientry) uint64 {
	return mix(maphash.String(s.seed, en.key), en.job, en.hasUID)
}

// find is the slot of k's entry, or of the empty slot where it would go.
func (s *entrySet) find(k *ekey) int {
	mask := len(s.slots) - 1
	i := int(s.keyHash(k)) & mask
	for s.slots[i] != nil && !k.matches(s.slots[i]) {
		i = (i + 1) & mask
	}
	return i
}

// get is k's entry, nil if none.
func (s *entrySet) get(k ekey) *ientry {
	if s.n == 0 {
		return nil
	}
	return s.slots[s.find(&k)]
}

// set puts en in, in place of the entry of the same key if any.
func (s *entrySet) set(en *ientry) {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	k := ekey{job: en.job, hasUID: en.hasUID}
	if en.hasUID {
		copy(k.uid[:], en.key)
	} else {
		k.id = en.key
	}
	i := s.find(&k)
	if s.slots[i] == nil {
		s.n++
	}
	s.slots[i] = en
}

// remove takes k's entry out, returning it (nil if none). The entries
// after it in its run move back (backward-shift deletion), so no
// tombstones are left to slow later probes.
func (s *entrySet) remove(k ekey) *ientry {
	if s.n == 0 {
		return nil
	}
	i := s.find(&k)
	en := s.slots[i]
	if en == nil {
		return nil
	}
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j] != nil; j = (j + 1) & mask {
		home := int(s.entryHash(s.slots[j])) & mask
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i <= j && (i < home && home <= j)) || (i > j && (i < home || home <= j)) {
			continue
		}
		s.slots[i] = s.slots[j]
		i = j
	}
	s.slots[i] = nil
	s.n--
	return en
}

func (s *entrySet) grow() {
	old := s.slots
	s.slots = make([]*ientry, max(16, 2*len(old)))
	mask := len(s.slots) - 1
	for _, en := range old {
		if en == nil {
			continue
		}
		i := int(s.entryHash(en)) & mask
		for s.slots[i] != nil {
			i = (i + 1) & mask
		}
		s.slots[i] = en
	}
}

// parseUUID reads a UUID in its canonical form only (36 characters,
// lowercase hex, hyphens at 8, 13, 18 and 23; the engine's own ids), so
// that idBytes gives the id back byte for byte and the 16 bytes order
// as the strings do.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// compareIDs orders two entries' ids as their strings order (a
// canonical UUID's bytes order as its text does).
func compareIDs(a, b *ientry) int {
	if a.hasUID == b.hasUID {
		return strings.Compare(a.key, b.key)
	}
	var ab, bb [36]byte
	return bytes.Compare(a.idBytes(ab[:0]), b.idBytes(bb[:0]))
}

// idBytes appends the entry's id, as text, to buf.
func (en *ientry) idBytes(buf []byte) []byte {
	if !en.hasUID {
		return append(buf, en.key...)
	}
	const hex = "0123456789abcdef"
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf = append(buf, '-')
		}
		c := en.key[i]
		buf = append(buf, hex[c>>4], hex[c&0xf])
	}
	return buf
}
