package redactiontest

import "encoding/json"

// A small ordered JSON tree, so that generated payloads keep a known key
// order and can nest JSON inside JSON strings.
type (
	node   any
	member struct {
		key string
		val node
	}
	object  []member
	array   []node
	number  string
	literal string
	// embedded is a JSON text carried as a JSON string.
	embedded struct{ inner node }
)

func appendNode(dst []byte, n node) []byte {
	switch v := n.(type) {
	case object:
		dst = append(dst, '{')
		for i, m := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.key)
			dst = append(dst, ':')
			dst = appendNode(dst, m.val)
		}
		return append(dst, '}')
	case array:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendNode(dst, e)
		}
		return append(dst, ']')
	case string:
		return appendString(dst, v)
	case number:
		return append(dst, v...)
	case literal:
		return append(dst, v...)
	case embedded:
		return appendString(dst, string(appendNode(nil, v.inner)))
	}
	panic("redactiontest: unknown node")
}

func appendString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return append(dst, b...)
}
