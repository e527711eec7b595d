package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Summary describes a sealed segment so that readers can decide whether
// to open it: its position in the chain and the values it holds. It is
// stored beside the segment as canonical JSON in NNN.summary.json, and its
// SHA-256 is committed to by the segment's signed seal.
type Summary struct {
	Chain         string `json:"chain"`
	Segment       string `json:"segment"`
	FirstSeq      uint64 `json:"first_seq"`
	Count         uint64 `json:"count"`
	Bytes         int64  `json:"bytes"`
	FirstPrevHash string `json:"first_prev_hash"`
	LastHash      string `json:"last_hash"`
	// MinTimestamp and MaxTimestamp bound the records' timestamps.
	MinTimestamp string `json:"min_timestamp"`
	MaxTimestamp string `json:"max_timestamp"`
	// MaxRetainUntil is the latest retain_until, which prune compares
	// with the current time.
	MaxRetainUntil string `json:"max_retain_until"`
	// The distinct values present, sorted; empty values are left out.
	Conversations []string  `json:"conversations"`
	Subjects      []Subject `json:"subjects"`
	Users         []string  `json:"users"`
	Tools         []string  `json:"tools"`
}

// summaryBuilder accumulates a Summary record by record. Values already
// seen cost no allocation, so the verifier can feed it views of its line
// buffer.
type summaryBuilder struct {
	s            Summary
	minTS, maxTS []byte
	maxRetain    []byte
	lastHash     []byte // the summary's LastHash
	// The sets map each value to itself: the stored copy, which the
	// last* fields can then share.
	conversations map[string]string
	subjects      map[Subject]Subject
	users         map[string]string
	tools         map[string]string

	lastConv, lastUser, lastTool string
	lastSubj                     Subject
}

func newSummaryBuilder(chain, segment string, first uint64) *summaryBuilder {
	return &summaryBuilder{
		s:             Summary{Chain: chain, Segment: segment, FirstSeq: first},
		conversations: map[string]string{},
		subjects:      map[Subject]Subject{},
		users:         map[string]string{},
		tools:         map[string]string{},
	}
}

func (b *summaryBuilder) add(r *Record, lineBytes int) {
	b.addFields(r.PrevHash, r.Hash, r.Timestamp, r.Retention.RetainUntil, r.ConversationID, r.Subject, r.UserID, r.ToolName, lineBytes)
}

// addFields adds one record. The strings may be views of a buffer that is
// reused after the call: whatever is kept is copied.
func (b *summaryBuilder) addFields(prev, hash, ts, retain, conv string, subj Subject, user, tool string, lineBytes int) {
	s := &b.s
	if s.Count == 0 {
		s.FirstPrevHash = strings.Clone(prev)
		b.minTS = append(b.minTS[:0], ts...)
		b.maxTS = append(b.maxTS[:0], ts...)
	}
	s.Count++
	s.Bytes += int64(lineBytes)
	b.lastHash = append(b.lastHash[:0], hash...)
	if ts < string(b.minTS) {
		b.minTS = append(b.minTS[:0], ts...)
	}
	if ts > string(b.maxTS) {
		b.maxTS = append(b.maxTS[:0], ts...)
	}
	if retain > string(b.maxRetain) {
		b.maxRetain = append(b.maxRetain[:0], retain...)
	}
	addKey(b.conversations, conv, &b.lastConv)
	addKey(b.users, user, &b.lastUser)
	addKey(b.tools, tool, &b.lastTool)
	if subj != (Subject{}) && subj != b.lastSubj {
		stored, ok := b.subjects[subj]
		if !ok {
			stored = Subject{Type: strings.Clone(subj.Type), ID: strings.Clone(subj.ID)}
			b.subjects[stored] = stored
		}
		b.lastSubj = stored
	}
}

// addKey adds k to the set m unless it is empty. Neighbouring records
// often share a value, so k is first compared with *last, the value added
// before, which is the set's own copy (k may be a view of a reused buffer).
func addKey(m map[string]string, k string, last *string) {
	if k == "" || k == *last {
		return
	}
	stored, ok := m[k]
	if !ok {
		stored = strings.Clone(k)
		m[stored] = stored
	}
	*last = stored
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (b *summaryBuilder) summary() Summary {
	s := b.s
	s.LastHash = string(b.lastHash)
	s.MinTimestamp, s.MaxTimestamp, s.MaxRetainUntil = string(b.minTS), string(b.maxTS), string(b.maxRetain)
	s.Conversations = sortedKeys(b.conversations)
	s.Users = sortedKeys(b.users)
	s.Tools = sortedKeys(b.tools)
	s.Subjects = make([]Subject, 0, len(b.subjects))
	for k := range b.subjects {
		s.Subjects = append(s.Subjects, k)
	}
	slices.SortFunc(s.Subjects, compareSubjects)
	return s
}

// compareSubjects orders subjects by type, then id: the order of
// Summary.Subjects.
func compareSubjects(a, b Subject) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Canonical returns the summary as RFC 8785 canonical JSON, the exact
// bytes of its sidecar file.
func (s Summary) Canonical() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return CanonicalizeJSON(b)
}

// ContainsSubject reports whether the segment holds a record about subject.
func (s *Summary) ContainsSubject(typ, id string) bool {
	_, ok := slices.BinarySearchFunc(s.Subjects, Subject{Type: typ, ID: id}, compareSubjects)
	return ok
}

// ContainsConversation reports whether the segment holds a record of
// conversation id.
func (s *Summary) ContainsConversation(id string) bool {
	_, ok := slices.BinarySearch(s.Conversations, id)
	return ok
}

// Seal is the signed statement that closes a segment: it fixes the
// segment's place in the chain and, through SummarySHA256, its summary.
// Since v2 it also commits to the segment file's bytes, so that a reader
// can prove a sealed segment without checking every record (Proves): a v2
// seal by the file's SHA-256, a v3 seal (written now) by a digest of its
// records' leaf and record hashes, which the writer has at hand and so
// costs it one SHA-256 block per record instead of a pass over the file.
type Seal struct {
	Chain         string
	Segment       string
	FirstSeq      uint64
	Count         uint64
	FirstPrevHash string
	LastHash      string
	SummarySHA256 string
	// SegmentBytes is the size of the segment file; 0 in a v1 seal.
	SegmentBytes int64
	// SegmentSHA256 is the lowercase hex SHA-256 of the whole segment
	// file: v2 seals only.
	SegmentSHA256 string
	// RecordsSHA256 is the lowercase hex SHA-256 of the segment's records
	// in file order, each as 64 bytes: its RFC 6962 leaf hash (of its line
	// without the hash member) and its record hash (the hash member's
	// value, hex-decoded). v3 seals only; see recordsDigest.
	RecordsSHA256 string
}

const (
	sealHeaderV1 = "otelaudit seal v1"
	sealHeaderV2 = "otelaudit seal v2"
	sealHeader   = "otelaudit seal v3"
)

// HasSegmentDigest reports whether the seal commits to the segment file's
// bytes (a v2 or v3 seal), so that Proves can take the file as a whole.
func (s Seal) HasSegmentDigest() bool { return s.SegmentSHA256 != "" || s.RecordsSHA256 != "" }

// Text returns the seal's note text: a header line, then one
// "key value" line per field. The version follows the digest the seal
// carries: RecordsSHA256 (v3), SegmentSHA256 (v2), or neither (v1).
func (s Seal) Text() []byte {
	const v1 = "%s\nchain %s\nsegment %s\nfirst_seq %d\ncount %d\nfirst_prev_hash %s\nlast_hash %s\nsummary_sha256 %s\n"
	switch {
	case s.RecordsSHA256 != "":
		return fmt.Appendf(nil, v1+"segment_bytes %d\nsegment_records_sha256 %s\n",
			sealHeader, s.Chain, s.Segment, s.FirstSeq, s.Count, s.FirstPrevHash, s.LastHash, s.SummarySHA256, s.SegmentBytes, s.RecordsSHA256)
	case s.SegmentSHA256 != "":
		return fmt.Appendf(nil, v1+"segment_bytes %d\nsegment_sha256 %s\n",
			sealHeaderV2, s.Chain, s.Segment, s.FirstSeq, s.Count, s.FirstPrevHash, s.LastHash, s.SummarySHA256, s.SegmentBytes, s.SegmentSHA256)
	}
	return fmt.Appendf(nil, v1, sealHeaderV1, s.Chain, s.Segment, s.FirstSeq, s.Count, s.FirstPrevHash, s.LastHash, s.SummarySHA256)
}

// sealFor returns the seal of a segment with summary sum, whose canonical
// bytes are canonical; the segment digest is left for the caller.
func sealFor(sum Summary, canonical []byte) Seal {
	h := sha256.Sum256(canonical)
	return Seal{
		Chain: sum.Chain, Segment: sum.Segment, FirstSeq: sum.FirstSeq, Count: sum.Count,
		FirstPrevHash: sum.FirstPrevHash, LastHash: sum.LastHash, SummarySHA256: hex.EncodeToString(h[:]),
	}
}

// parseKV parses a note text of a header line and "key value" lines into
// a map, requiring exactly the given keys.
func parseKV(text, header string, keys ...string) (map[string]string, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) == 0 || lines[0] != header {
		return nil, fmt.Errorf("does not start with %q", header)
	}
	m := make(map[string]string, len(keys))
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, " ")
		if !ok {
			return nil, fmt.Errorf("malformed line %q", truncate(l, 40))
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("repeated key %q", k)
		}
		m[k] = v
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("missing key %q", k)
		}
	}
	if len(m) != len(keys) {
		return nil, errors.New("unexpected keys")
	}
	return m, nil
}

// ParseSeal parses a seal note text, v1, v2 or v3.
func ParseSeal(text []byte) (Seal, error) {
	keys := []string{"chain", "segment", "first_seq", "count", "first_prev_hash", "last_hash", "summary_sha256"}
	header, digestKey := sealHeaderV1, ""
	switch {
	case strings.HasPrefix(string(text), sealHeader+"\n"):
		header, digestKey = sealHeader, "segment_records_sha256"
	case strings.HasPrefix(string(text), sealHeaderV2+"\n"):
		header, digestKey = sealHeaderV2, "segment_sha256"
	}
	if digestKey != "" {
		keys = append(keys, "segment_bytes", digestKey)
	}
	m, err := parseKV(string(text), header, keys...)
	if err != nil {
		return Seal{}, fmt.Errorf("seal %w", err)
	}
	s := Seal{Chain: m["chain"], Segment: m["segment"], FirstPrevHash: m["first_prev_hash"], LastHash: m["last_hash"], SummarySHA256: m["summary_sha256"]}
	if s.FirstSeq, err = strconv.ParseUint(m["first_seq"], 10, 64); err != nil {
		return Seal{}, fmt.Errorf("seal first_seq %q: %w", m["first_seq"], err)
	}
	if s.Count, err = strconv.ParseUint(m["count"], 10, 64); err != nil {
		return Seal{}, fmt.Errorf("seal count %q: %w", m["count"], err)
	}
	if digestKey == "" {
		return s, nil
	}
	if s.SegmentBytes, err = strconv.ParseInt(m["segment_bytes"], 10, 64); err != nil || s.SegmentBytes < 0 {
		return Seal{}, fmt.Errorf("seal segment_bytes %q: not a size", m["segment_bytes"])
	}
	digest := m[digestKey]
	if !isLowerHex(digest, 2*sha256.Size) {
		return Seal{}, fmt.Errorf("seal %s %q: not a lowercase hex SHA-256", digestKey, truncate(digest, 70))
	}
	if header == sealHeader {
		s.RecordsSHA256 = digest
	} else {
		s.SegmentSHA256 = digest
	}
	return s, nil
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// OpenSeal verifies a signed seal note and parses it.
func OpenSeal(msg []byte, verifiers note.Verifiers) (Seal, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return Seal{}, err
	}
	return ParseSeal([]byte(n.Text))
}
