package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

func hmacHex(key, v string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(v))
	return hex.EncodeToString(h.Sum(nil))
}
