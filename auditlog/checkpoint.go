package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the chain id as
// origin, the number of records, and the RFC 6962 Merkle root over their
// canonical forms without "hash".
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
}

// Text returns the checkpoint body: three lines, origin, decimal size and
// base64 root, each ending in "\n".
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ParseCheckpoint parses a checkpoint body (the text of its note, before
// the signatures). Extension lines after the root are ignored, as C2SP
// allows.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	lines := strings.SplitAfter(string(text), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, errors.New("checkpoint has fewer than three lines")
	}
	for i := range 3 {
		if !strings.HasSuffix(lines[i], "\n") {
			return Checkpoint{}, errors.New("checkpoint line not terminated by newline")
		}
		lines[i] = strings.TrimSuffix(lines[i], "\n")
	}
	var c Checkpoint
	c.Origin = lines[0]
	if c.Origin == "" {
		return Checkpoint{}, errors.New("checkpoint has an empty origin")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint size %q is not a decimal number", lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint root %q is not a base64 SHA-256 hash", lines[2])
	}
	copy(c.Root[:], root)
	return c, nil
}

// SignCheckpoint returns c as a signed note.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(c.Text())}, signer)
}

// OpenCheckpoint verifies a signed checkpoint note with verifiers and
// parses it. Errors are *note.UnverifiedNoteError when no signature is by a
// known key, *note.InvalidSignatureError for a bad signature, or a parse
// error.
func OpenCheckpoint(msg []byte, verifiers note.Verifiers) (Checkpoint, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return Checkpoint{}, err
	}
	return ParseCheckpoint([]byte(n.Text))
}

// ParseCheckpointNote parses a signed checkpoint note without checking
// its signatures: the error says that msg is not a signed note (text, a
// blank line, signature lines) or that its text is not a checkpoint. It
// tells input that cannot be a checkpoint at all from one whose
// signatures do not verify (see OpenCheckpoint).
func ParseCheckpointNote(msg []byte) (Checkpoint, error) {
	// With no known key, a well-formed note is reported unverified, and
	// carries its text.
	_, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return Checkpoint{}, errors.New("not a signed note")
	}
	c, err := ParseCheckpoint([]byte(unverified.Note.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("a signed note but not a checkpoint: %w", err)
	}
	return c, nil
}

// noteText returns the text of a signed note without checking signatures,
// for a writer that needs its own last state back.
func noteText(msg []byte) ([]byte, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("not a signed note")
	}
	return msg[:i+1], nil
}
