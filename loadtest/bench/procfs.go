package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ProcStat is what the harness reads from /proc/<pid>/stat: CPU time in clock ticks.
type ProcStat struct {
	UTimeTicks uint64 // time in user mode (field 14)
	STimeTicks uint64 // time in kernel mode (field 15)
}

// Ticks is user plus system time, in clock ticks.
func (s ProcStat) Ticks() uint64 { return s.UTimeTicks + s.STimeTicks }

// ParseProcStat parses the text of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are counted from the
// last ')'. utime and stime are fields 14 and 15 (proc(5)); they cover every thread.
func ParseProcStat(text string) (ProcStat, error) {
	end := strings.LastIndexByte(text, ')')
	if end < 0 {
		return ProcStat{}, errors.New("parse /proc stat: no ')' after the command name")
	}
	// After ") " come field 3 (state) onwards.
	fields := strings.Fields(text[end+1:])
	const first = 3 // number of the first field in fields
	const utime, stime = 14, 15
	if len(fields) < stime-first+1 {
		return ProcStat{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least %d", len(fields), stime-first+1)
	}
	u, err := strconv.ParseUint(fields[utime-first], 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc stat utime: %w", err)
	}
	s, err := strconv.ParseUint(fields[stime-first], 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc stat stime: %w", err)
	}
	return ProcStat{UTimeTicks: u, STimeTicks: s}, nil
}

// ParseStatusKB returns the value of a "Key:   1234 kB" line of /proc/<pid>/status in bytes,
// for keys such as VmHWM (peak resident set size) and VmRSS.
func ParseStatusKB(text, key string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse /proc status %s: unexpected value %q", key, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc status %s: %w", key, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("parse /proc status: no %s line", key)
}

// ProcSample is one reading of a process's CPU time and memory.
type ProcSample struct {
	CPUTicks  uint64
	PeakRSS   uint64 // VmHWM, bytes
	RSS       uint64 // VmRSS, bytes
	ClockTick uint64 // ticks per second used to convert CPUTicks
}

// CPUSeconds is the process's user plus system CPU time.
func (p ProcSample) CPUSeconds() float64 { return float64(p.CPUTicks) / float64(p.ClockTick) }

// ReadProc reads /proc/<pid>/stat and /proc/<pid>/status. clkTck is the kernel's USER_HZ.
func ReadProc(pid int, clkTck uint64) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("read process stat: %w", err)
	}
	st, err := ParseProcStat(string(stat))
	if err != nil {
		return ProcSample{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("read process status: %w", err)
	}
	hwm, err := ParseStatusKB(string(status), "VmHWM")
	if err != nil {
		return ProcSample{}, err
	}
	rss, err := ParseStatusKB(string(status), "VmRSS")
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{CPUTicks: st.Ticks(), PeakRSS: hwm, RSS: rss, ClockTick: clkTck}, nil
}

// ClockTicks returns the kernel's clock ticks per second (USER_HZ) as `getconf CLK_TCK`
// reports it, or 100, its value on every mainstream Linux architecture, when getconf fails.
func ClockTicks() uint64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n == 0 {
		return 100
	}
	return n
}
