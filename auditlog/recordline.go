package auditlog

// RecordLine locates the members of a record line that chain checks and
// query filters read; each is a slice of the line.
type RecordLine struct {
	Seq uint64
	// ChainID, Hash, PrevHash and Timestamp are string values without
	// their quotes (ScanRecordLine refuses them with escapes).
	ChainID, Hash, PrevHash, Timestamp []byte
	// ConversationID, UserID, ToolName, Subject and Success are raw JSON:
	// strings with their quotes, subject the whole {"id":…,"type":…}
	// object, success true or false. In a line the writer wrote they are
	// canonical, so they compare equal to the canonical JSON of a value.
	ConversationID, UserID, ToolName, Subject, Success []byte
	// HashStart and HashEnd bound the hash member with its leading comma,
	// `,"hash":"…"`: line[:HashStart] and line[HashEnd:] together are the
	// record's canonical form without "hash", the text of its hash and of
	// its Merkle leaf.
	HashStart, HashEnd int
}

// ScanRecordLine finds the members of line the way the verifier does for
// records a signed checkpoint covers: by following the structure of the
// record AppendCanonical writes (where each value starts and ends), with
// no check of member names, punctuation or values other than the hash
// member's name and form. It returns false for a line without that
// structure, or whose hash member, chain id, prev_hash or timestamp is not
// a plain string.
//
// What it finds is only trustworthy where a digest binds the line: if the
// record hash, or the Merkle leaf hash, of line[:HashStart] and
// line[HashEnd:] is the one signed (directly, or through the next
// record's prev_hash), then those bytes are the writer's and the members
// are where a JSON parser would find them. A line that is not the writer's
// makes such a check fail, whatever ScanRecordLine returned for it. Safe
// for concurrent use.
func ScanRecordLine(line []byte, rl *RecordLine) bool {
	var f recordFields
	if !matchRecordShape(line, &f) || f.hash.esc || f.hash.end-f.hash.start != len(ZeroHash)+2 ||
		f.chainID.esc || f.prev.esc || f.ts.esc {
		return false
	}
	seq := line[f.seq.start:f.seq.end]
	if len(seq) == 0 || len(seq) > 19 || len(seq) > 1 && seq[0] == '0' {
		return false
	}
	var n uint64
	for _, c := range seq {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	unq := func(sp span) []byte { return line[sp.start+1 : sp.end-1] }
	raw := func(sp span) []byte { return line[sp.start:sp.end] }
	*rl = RecordLine{
		Seq:     n,
		ChainID: unq(f.chainID), Hash: unq(f.hash), PrevHash: unq(f.prev), Timestamp: unq(f.ts),
		ConversationID: raw(f.conv), UserID: raw(f.user), ToolName: raw(f.tool), Success: raw(f.success),
		// The subject object runs from its '{' before "id" to the '}'
		// after its type.
		Subject:   line[f.subjID.start-len(`{"id":`) : f.subjType.end+1],
		HashStart: f.hashMember.start, HashEnd: f.hashMember.end,
	}
	return true
}
