//go:build unix

package logtail

import (
	"os"
	"syscall"
)

// statID is the device and inode of a stat result.
func statID(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true //nolint:unconvert // the field types differ between platforms
}

// openLog opens a log file for reading. O_NONBLOCK: a FIFO put where a log file was must
// not block the tailer in open (it is then refused as not a regular file).
func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) //nolint:gosec // reading the configured log files is the point
}
