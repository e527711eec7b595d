package query

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/otelaudit/otelaudit/auditlog"
)

// lineFields are the top-level members of a record line that chain
// verification needs, found without decoding the record.
type lineFields struct {
	seq       uint64
	prev      []byte // prev_hash, unquoted
	hash      []byte // hash, unquoted
	chainID   []byte
	timestamp []byte
	// Raw values (JSON text) of the members queries filter on.
	conversation, user, tool, subject, success []byte
	// The "hash" member with its separating comma occupies
	// line[hashStart:hashEnd]; the rest of the line is what the hash is
	// computed over when the line is canonical.
	hashStart, hashEnd int
}

var errScan = errors.New("not a record line")

// fieldsOf returns the lineFields of a line auditlog.ScanRecordLine
// accepted.
func fieldsOf(rl *auditlog.RecordLine) lineFields {
	return lineFields{seq: rl.Seq, prev: rl.PrevHash, hash: rl.Hash, chainID: rl.ChainID, timestamp: rl.Timestamp,
		conversation: rl.ConversationID, user: rl.UserID, tool: rl.ToolName, subject: rl.Subject, success: rl.Success,
		hashStart: rl.HashStart, hashEnd: rl.HashEnd}
}

// scanLine finds the top-level members of a record line that verification
// needs. It checks JSON syntax only as far as it must to skip values
// (strings, nesting); full validation is left to auditlog.DecodeRecord,
// which runs on every record a query returns. Strings holding escapes in
// the members it extracts make it fail, so that the caller falls back to
// the full decoder.
//
// Why this is sound: the hash is recomputed over the line's own bytes
// minus the hash member, and each line's hash is linked to the next
// line's prev_hash up to the hash the segment's signed seal (or the signed
// checkpoint's Merkle root) commits to. Any change to any byte of any line
// other than moving the hash member breaks that, so every member read
// here is as trustworthy as the signature.
func scanLine(line []byte) (lineFields, error) {
	var f lineFields
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return f, errScan
	}
	i++
	haveSeq, haveHash, hashFirst := false, false, false
	for first := true; ; first = false {
		// i is just after '{' or ','.
		memberStart := i
		i = skipSpace(line, i)
		if i >= len(line) || line[i] != '"' {
			return f, errScan
		}
		keyStart := i + 1
		end, escaped := scanString(line, i)
		if end < 0 || escaped {
			return f, errScan
		}
		key := line[keyStart : end-1]
		i = skipSpace(line, end)
		if i >= len(line) || line[i] != ':' {
			return f, errScan
		}
		i = skipSpace(line, i+1)
		valStart := i
		if i = skipValue(line, i); i < 0 {
			return f, errScan
		}
		val := line[valStart:i]
		switch string(key) {
		case "seq":
			n, ok := parseUint(val)
			if !ok || haveSeq {
				return f, errScan
			}
			f.seq, haveSeq = n, true
		case "hash":
			if f.hash = unquote(val); f.hash == nil || haveHash {
				return f, errScan
			}
			haveHash = true
			if first {
				// Removed with the comma that follows it.
				f.hashStart, hashFirst = memberStart, true
			} else {
				f.hashStart, f.hashEnd = memberStart-1, i
			}
		case "prev_hash":
			if f.prev = unquote(val); f.prev == nil {
				return f, errScan
			}
		case "chain_id":
			if f.chainID = unquote(val); f.chainID == nil {
				return f, errScan
			}
		case "timestamp":
			if f.timestamp = unquote(val); f.timestamp == nil {
				return f, errScan
			}
		case "conversation_id":
			f.conversation = val
		case "user_id":
			f.user = val
		case "tool_name":
			f.tool = val
		case "subject":
			f.subject = val
		case "success":
			f.success = val
		}
		i = skipSpace(line, i)
		if i >= len(line) {
			return f, errScan
		}
		if line[i] == '}' {
			if skipSpace(line, i+1) != len(line) || !haveSeq || !haveHash || (hashFirst && f.hashEnd == 0) {
				return f, errScan
			}
			return f, nil
		}
		if line[i] != ',' {
			return f, errScan
		}
		if hashFirst && f.hashEnd == 0 {
			f.hashEnd = i + 1
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string
// starting at b[i] == '"', -1 when it is unterminated, and whether it
// holds escapes. It looks at eight bytes at a time (most of a record line
// is string content: hashes, ids, timestamps).
func scanString(b []byte, i int) (int, bool) {
	escaped := false
	j := i + 1
	for {
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			if m := hasByte(w, '"') | hasByte(w, '\\'); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return -1, escaped
		}
		if b[j] == '"' {
			return j + 1, escaped
		}
		escaped = true
		j += 2
	}
}

// hasByte sets the high bit of each byte of x equal to c; the lowest set
// bit is exact (the classic has-zero-byte trick).
func hasByte(x uint64, c byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := x ^ (lo * uint64(c))
	return (y - lo) &^ y & hi
}

// skipValue returns the index after the JSON value starting at b[i], or
// -1. Objects and arrays are skipped by counting brackets outside
// strings, without checking what is inside: on a line the writer produced
// (valid JSON) this finds the same end as a full parser, and on a line it
// did not, the hash check fails whatever the scanner extracted (see
// scanLine). Nesting deeper than 10000 levels is refused, as encoding/json
// does.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := scanString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				if depth++; depth > 10000 {
					return -1
				}
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] == 'E') {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// unquote returns the content of a JSON string value without escapes,
// nil for anything else.
func unquote(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil
	}
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 {
			return nil
		}
	}
	return s
}

func parseUint(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 19 || (len(v) > 1 && v[0] == '0') {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
