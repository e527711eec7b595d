package auditlog

import (
	"fmt"
	"os"
	"runtime"

	"go.uber.org/zap"
)

// tightenDir takes group and other permissions away from dir, the store's
// root or a chain directory that already existed when the store opened
// (SPEC §4: directories 0700; those the store creates are made so), and
// logs a warning naming the path and its mode before and after. A
// directory it cannot change (owned by another user) is logged, not
// refused: its files are 0600 whatever the directory allows. Other mode
// bits (setgid, sticky) are kept. Windows has no such modes.
func tightenDir(dir string, log *zap.Logger) {
	if runtime.GOOS == "windows" {
		return
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return
	}
	mode := st.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSetuid | os.ModeSticky)
	before := fmt.Sprintf("%#o", st.Mode().Perm())
	if err := os.Chmod(dir, mode&^0o077); err != nil {
		log.Warn("audit store directory is open to other users and could not be made private (SPEC: directories 0700)",
			zap.String("path", dir), zap.String("mode", before), zap.Error(err))
		return
	}
	log.Warn("audit store directory was open to other users: took their permissions away (SPEC: directories 0700)",
		zap.String("path", dir), zap.String("mode_before", before), zap.String("mode", fmt.Sprintf("%#o", (mode&^0o077).Perm())))
}
