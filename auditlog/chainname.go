package auditlog

import (
	"fmt"
	"strings"
)

// CheckChainName returns nil if name can name a new chain (and so a
// retention class), else an error that starts with the quoted name and
// says why. Beyond ValidChainName's shape, a chain's directory sits in
// the store's root next to the store's own entries (.lock, .prune.lock,
// legal_hold: README.md, "The store"), so their names are reserved, in
// any case, since the store may live on a case-insensitive file system.
func CheckChainName(name string) error {
	if !ValidChainName(name) {
		return fmt.Errorf("%q must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit, since it names a chain directory", name)
	}
	if what := reservedStoreName(name); what != "" {
		return fmt.Errorf("%q is reserved: the store's root holds %s of that name", name, what)
	}
	return nil
}

// reservedStoreName says what the store root entry of name is ("" when
// name is no such entry), ignoring case.
func reservedStoreName(name string) string {
	switch {
	case strings.EqualFold(name, legalHoldFile):
		return "the legal hold file of every chain"
	case strings.EqualFold(name, lockFile):
		return "the writer's lock file"
	case strings.EqualFold(name, pruneLockFile):
		return "the prune lock file"
	}
	return ""
}
